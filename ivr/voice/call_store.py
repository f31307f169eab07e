"""A live call's row, read and written with single Core statements: the webhooks' hot path.

A webhook loads the row (one SELECT by `call_key`), the flow moves the call in Python,
and `save` writes back only the columns that changed, with the version check: the
UPDATE applies only if `seq` is still what was read, and moves it on by one, as the
ORM's `version_id_col` does. Two workers answering the same request at once: one
UPDATE matches, the other changes nothing and renders the state the first left. Only
changed columns: a handler taking the caller meanwhile (call_life.answer, which does
not move `seq`) is not undone by a step that did not touch the status.

A step's event goes with its UPDATE: on PostgreSQL in the same statement (a
data-modifying WITH, on a connection in autocommit), so a step is two round trips,
the read and the write, where the ORM made six (ping, BEGIN, SELECT, UPDATE, INSERT,
COMMIT); on SQLite the two in one transaction. No ORM session, identity map or unit
of work: those were most of a webhook's CPU (docs/benchmarks.md).

A new call is stored by one INSERT that returns its row (`store`); a call already
stored by another of its requests is read instead.

The Call objects given out here are transient (never in a session): the moves, the
renderer and call_life work on them as on loaded ones. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import configure_mappers

from ivr.core.db import Interrupted, autocommit_connection, get_engine, insert_on_conflict
from ivr.models import Call, CallEvent, TwilioErasure, utcnow
from ivr.models.calls import unordered_id

CALLS = cast(Table, Call.__table__)
EVENTS = cast(Table, CallEvent.__table__)
ERASURES = cast(Table, TwilioErasure.__table__)
_COLUMNS = tuple(column.key for column in CALLS.columns)
_MAPPER = inspect(Call)
# The id is drawn here (ivr/models/calls.py, `unordered_id`): PostgreSQL's INSERT ...
# SELECT below would not draw a column default of Python's for each row.
_EVENT_COLUMNS = ("call_id", "seq", "step", "outcome", "value", "at", "id")


@contextmanager
def connect() -> Iterator[Connection]:
    """The hot path's connection. On PostgreSQL in autocommit: each statement is its own
    transaction, one round trip, no BEGIN or COMMIT. On SQLite a plain one (a SELECT
    opens no transaction there; an UPDATE and an INSERT share one until commit)."""
    engine = get_engine()
    connection = (
        autocommit_connection() if engine.dialect.name == "postgresql" else engine.connect()
    )
    with connection:
        try:
            yield connection
        except Interrupted:
            # A statement may still be in flight: the connection is closed, not rolled
            # back on a server that may not answer (which the pool would log as an error).
            connection.invalidate()
            raise


def transient_call(values: dict[str, Any]) -> Call:
    """A Call (never in a session) holding `values` as a loaded one holds them, in its
    __dict__, without the constructor's instrumented assignment of each: a tenth of the
    time. Later changes go through the instrumentation as usual."""
    if not _MAPPER.configured:  # a worker's first request may come before any ORM use
        configure_mappers()
    call = _MAPPER.class_manager.new_instance()
    call.__dict__.update(values)
    return call


class Loaded:
    """A call as read: the transient Call, and the values read, to see what changed."""

    __slots__ = ("call", "read")

    def __init__(self, row: dict[str, Any]) -> None:
        self.read = row
        # Copies of the JSON values, so that a change made in place is seen as a change.
        self.call = transient_call(
            {**row, "answers": dict(row["answers"] or {}), "preface": list(row["preface"] or [])}
        )

    def changes(self) -> dict[str, Any]:
        state = self.call.__dict__
        return {
            key: state[key] for key in _COLUMNS if key in state and state[key] != self.read[key]
        }


# Statements built once and kept: building one (and keying it for SQLAlchemy's cache of
# compiled forms) costs more than running it. Values are bound by name at execution.
_LOAD = select(CALLS).where(CALLS.c.call_key == bindparam("key"))
_INSERT_EVENT = insert(EVENTS)
_UPDATES: dict[tuple[str, ...], Any] = {}
_UPDATES_WITH_EVENT: dict[tuple[str, ...], Any] = {}


def load(connection: Connection, key: str) -> Loaded | None:
    row = connection.execute(_LOAD, {"key": key}).mappings().first()
    return None if row is None else Loaded(dict(row))


def _versioned_update(columns: tuple[str, ...]) -> Any:
    """UPDATE calls SET <columns>, seq = :new_seq WHERE id = :id AND seq = :old_seq, one
    statement per set of columns (a flow changes a handful of sets)."""
    statement = _UPDATES.get(columns)
    if statement is None:
        statement = (
            update(CALLS)
            .where(CALLS.c.id == bindparam("id_"), CALLS.c.seq == bindparam("old_seq"))
            .values({column: bindparam(f"set_{column}") for column in columns})
            .values(seq=bindparam("new_seq"))
        )
        _UPDATES[columns] = statement
    return statement


def _update_params(loaded: Loaded, changes: dict[str, Any]) -> dict[str, Any]:
    old_seq = loaded.read["seq"]
    params = {f"set_{column}": value for column, value in changes.items()}
    params.update(id_=loaded.read["id"], old_seq=old_seq, new_seq=old_seq + 1)
    return params


def save(connection: Connection, loaded: Loaded) -> bool:
    """Write what changed; False (nothing written) if another request moved the call first."""
    changes = loaded.changes()
    statement = _versioned_update(tuple(changes))
    won = connection.execute(statement, _update_params(loaded, changes)).rowcount == 1
    if won:
        loaded.call.seq = loaded.read["seq"] + 1
    return won


def _update_with_event(columns: tuple[str, ...]) -> Any:
    """PostgreSQL: the versioned UPDATE and the event's INSERT in one statement; the event
    is inserted only if the UPDATE matched."""
    statement = _UPDATES_WITH_EVENT.get(columns)
    if statement is None:
        moved = _versioned_update(columns).returning(CALLS.c.id).cte("moved")
        values = [bindparam(f"event_{k}", type_=EVENTS.c[k].type) for k in _EVENT_COLUMNS[1:]]
        # RETURNING: SQLAlchemy gives no row count for an INSERT (it says -1).
        statement = (
            insert(EVENTS)
            .from_select(list(_EVENT_COLUMNS), select(moved.c.id, *values))
            .add_cte(moved)
            .returning(EVENTS.c.id)
        )
        _UPDATES_WITH_EVENT[columns] = statement
    return statement


def save_with_event(
    connection: Connection, loaded: Loaded, step: str, outcome: str, value: str | None
) -> bool:
    """`save`, and the step's event (at the version it was applied to) with it, or neither."""
    old_seq = loaded.read["seq"]
    changes = loaded.changes()
    params = _update_params(loaded, changes)
    event = {
        "seq": old_seq,
        "step": step,
        "outcome": outcome,
        "value": value,
        "at": utcnow(),
        "id": unordered_id(),
    }
    if connection.dialect.name == "postgresql":
        params.update({f"event_{k}": v for k, v in event.items()})
        won = connection.execute(_update_with_event(tuple(changes)), params).first() is not None
    else:
        won = connection.execute(_versioned_update(tuple(changes)), params).rowcount == 1
        if won:
            connection.execute(_INSERT_EVENT, {"call_id": loaded.read["id"], **event})
    if won:
        loaded.call.seq = old_seq + 1
    return won


# A new call's INSERT, built once like the rest; it returns the stored row, defaults and
# all, for the step that follows.
_INSERT_CALL = insert(CALLS).returning(*CALLS.columns)
# The first step's INSERT unless the call has ended (`store_unless_ended`): one per set
# of columns given.
_INSERTS_UNLESS_ENDED: dict[tuple[str, ...], Any] = {}


def _column_values(call: Call) -> dict[str, Any]:
    """The columns set on an unsaved Call; the rest take their column defaults."""
    state = call.__dict__
    return {key: state[key] for key in _COLUMNS if key in state}


def _stored_meanwhile(connection: Connection, key: str, conflict: IntegrityError) -> Loaded:
    """After an INSERT met the call's key: the call another request of it stored."""
    connection.rollback()
    stored = load(connection, key)
    if stored is None:
        raise conflict  # not the key: another constraint refused the call
    return stored


def store(connection: Connection, call: Call) -> Loaded:
    """Store a new call; if it is stored already (a Twilio retry, or the same call's
    requests at once), change nothing and give back the stored one."""
    try:
        row = connection.execute(_INSERT_CALL, _column_values(call)).mappings().one()
    except IntegrityError as conflict:
        return _stored_meanwhile(connection, call.call_key, conflict)
    return Loaded(dict(row))


def store_unless_ended(connection: Connection, call: Call, ended_digest: str) -> Loaded | None:
    """`store`, unless the call's end has been claimed already (an erasure request under
    `ended_digest`, the digest of its CallSid): then nothing, and None. One statement,
    INSERT ... SELECT ... WHERE NOT EXISTS: no round trip added, and no separate look for
    a claim to slip past (a claim made while the statement runs is committed with the
    call under the same key, before its end, and the INSERT meets that key: the stored
    call is taken)."""
    values = _column_values(call)
    params = {f"v_{column}": value for column, value in values.items()}
    params["digest"] = ended_digest
    try:
        row = connection.execute(_insert_unless_ended(tuple(values)), params).mappings().first()
    except IntegrityError as conflict:
        return _stored_meanwhile(connection, call.call_key, conflict)
    return None if row is None else Loaded(dict(row))


def _insert_unless_ended(columns: tuple[str, ...]) -> Any:
    statement = _INSERTS_UNLESS_ENDED.get(columns)
    if statement is None:
        values = [bindparam(f"v_{column}", type_=CALLS.c[column].type) for column in columns]
        ended = select(ERASURES.c.id).where(ERASURES.c.call_sid_digest == bindparam("digest"))
        statement = (
            insert(CALLS)
            .from_select(list(columns), select(*values).where(~ended.exists()))
            .returning(*CALLS.columns)
        )
        _INSERTS_UNLESS_ENDED[columns] = statement
    return statement


def store_in_transaction(connection: Connection, call: Call) -> Loaded:
    """Store a new call within the connection's transaction (which `store` would roll
    back on a conflict); if another request of the call stored it meanwhile, that one."""
    statement = (
        insert_on_conflict(connection)(CALLS)
        .values(_column_values(call))
        .on_conflict_do_nothing(index_elements=["call_key"])
        .returning(*CALLS.columns)
    )
    row = connection.execute(statement).mappings().first()
    if row is not None:
        return Loaded(dict(row))
    stored = load(connection, call.call_key)
    if stored is None:
        raise LookupError("the call stored by another of its requests is gone")
    return stored
