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

The Call objects given out here are transient (never in a session): the moves, the
renderer and call_life work on them as on loaded ones. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, inspect, select, update
from sqlalchemy.orm import configure_mappers

from ivr.core.db import Interrupted, autocommit_connection, get_engine
from ivr.models import Call, CallEvent, utcnow

CALLS = cast(Table, Call.__table__)
EVENTS = cast(Table, CallEvent.__table__)
_COLUMNS = tuple(column.key for column in CALLS.columns)
_MAPPER = inspect(Call)
_EVENT_COLUMNS = ("call_id", "seq", "step", "outcome", "value", "at")


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
    event = {"seq": old_seq, "step": step, "outcome": outcome, "value": value, "at": utcnow()}
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
