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

from sqlalchemy import Connection, Table, insert, literal, select, update

from ivr.core.db import autocommit_connection, get_engine
from ivr.models import Call, CallEvent, utcnow

CALLS = cast(Table, Call.__table__)
EVENTS = cast(Table, CallEvent.__table__)
_COLUMNS = tuple(column.key for column in CALLS.columns)
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
        yield connection


class Loaded:
    """A call as read: the transient Call, and the values read, to see what changed."""

    __slots__ = ("call", "read")

    def __init__(self, row: dict[str, Any]) -> None:
        self.read = row
        # Copies of the JSON values, so that a change made in place is seen as a change.
        self.call = Call(
            **{**row, "answers": dict(row["answers"] or {}), "preface": list(row["preface"] or [])}
        )

    def changes(self) -> dict[str, Any]:
        state = self.call.__dict__
        return {
            key: state[key] for key in _COLUMNS if key in state and state[key] != self.read[key]
        }


def load(connection: Connection, key: str) -> Loaded | None:
    row = connection.execute(select(CALLS).where(CALLS.c.call_key == key)).mappings().first()
    return None if row is None else Loaded(dict(row))


def _versioned_update(loaded: Loaded) -> Any:
    old_seq = loaded.read["seq"]
    return (
        update(CALLS)
        .where(CALLS.c.id == loaded.read["id"], CALLS.c.seq == old_seq)
        .values(**loaded.changes(), seq=old_seq + 1)
    )


def save(connection: Connection, loaded: Loaded) -> bool:
    """Write what changed; False (nothing written) if another request moved the call first."""
    won = connection.execute(_versioned_update(loaded)).rowcount == 1
    if won:
        loaded.call.seq = loaded.read["seq"] + 1
    return won


def save_with_event(
    connection: Connection, loaded: Loaded, step: str, outcome: str, value: str | None
) -> bool:
    """`save`, and the step's event (at the version it was applied to) with it, or neither."""
    old_seq = loaded.read["seq"]
    event = dict(
        zip(
            _EVENT_COLUMNS,
            (loaded.read["id"], old_seq, step, outcome, value, utcnow()),
            strict=True,
        )
    )
    if connection.dialect.name == "postgresql":
        # One statement: the event is inserted only if the versioned UPDATE matched.
        moved = _versioned_update(loaded).returning(CALLS.c.id).cte("moved")
        values = [literal(event[k], EVENTS.c[k].type) for k in _EVENT_COLUMNS[1:]]
        statement = (
            insert(EVENTS)
            .from_select(list(_EVENT_COLUMNS), select(moved.c.id, *values))
            .add_cte(moved)
        )
        won = connection.execute(statement).rowcount == 1
    else:
        won = connection.execute(_versioned_update(loaded)).rowcount == 1
        if won:
            connection.execute(insert(EVENTS), event)
    if won:
        loaded.call.seq = old_seq + 1
    return won
