"""Rate limits without keeping anyone's address: token buckets in the database, one
row per purpose (all online submissions together, all follow-up checks together),
shared by every worker on every host.

A bucket holds up to `capacity` tokens and refills at `per_minute`; taking one when it
is empty is refused. Taking is one UPDATE ... RETURNING that refills and takes in the
same statement, in a connection of its own that commits at once: the row is locked
for that one statement only. (It used to be locked with SELECT ... FOR UPDATE until
the caller's request committed, so the send page held it across its argon2id hash and
every reporter in the country queued behind one row: docs/benchmarks.md.)

A token taken stays taken whatever the request does next. Call `take` before the
request writes anything: on SQLite a write of the caller's own, not yet committed,
would hold the database lock that this statement waits for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Float,
    bindparam,
    case,
    cast,
    func,
    update,
)
from sqlalchemy.orm import Session

from ivr.core.db import insert_on_conflict
from ivr.models import RateBucket, UTCDateTime, utcnow


@dataclass(frozen=True)
class Limit:
    name: str
    capacity: int
    per_minute: float


def take(session: Session, limit: Limit, now: datetime | None = None) -> bool:
    """Take one token; False when the bucket is empty. Commits by itself, on a
    connection of its own from the session's engine (never the caller's transaction)."""
    now = now or utcnow()
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with engine.connect() as plain:
        conn = plain.execution_options(isolation_level="AUTOCOMMIT")
        if conn.execute(_take(conn, limit, now)).first() is not None:
            return True
        # Empty, or never used: make it, full, unless it is there (perhaps made by
        # another taker a moment ago), then take again: that answer is the answer.
        conn.execute(_make(conn, limit, now))
        return conn.execute(_take(conn, limit, now)).first() is not None


def _make(conn: Connection, limit: Limit, now: datetime) -> Any:
    """INSERT the bucket full, or nothing if it exists (no error, nothing logged)."""
    insert = insert_on_conflict(conn)
    values = {"name": limit.name, "tokens": float(limit.capacity), "updated_at": now}
    return insert(RateBucket).values(**values).on_conflict_do_nothing(index_elements=["name"])


def _take(conn: Connection, limit: Limit, now: datetime) -> Any:
    """UPDATE the bucket to its refilled level less one, where that level is at least
    one, RETURNING a row only when a token was taken. PostgreSQL re-checks the WHERE
    against the row as a concurrent taker left it, so two takers never share a token."""
    at = bindparam("now", now, type_=UTCDateTime())
    seconds: ColumnElement[float]
    if conn.dialect.name == "postgresql":
        seconds = cast(func.extract("epoch", at - RateBucket.updated_at), Float)
    else:  # SQLite keeps the time as text, which julianday reads
        seconds = (func.julianday(at) - func.julianday(RateBucket.updated_at)) * 86400.0
    # A host whose clock is behind the last taker's adds nothing (never takes tokens away).
    elapsed = case((seconds > 0, seconds), else_=0.0)
    refilled = RateBucket.tokens + elapsed * (limit.per_minute / 60)
    level = case((refilled > limit.capacity, float(limit.capacity)), else_=refilled)
    return (
        update(RateBucket)
        .where(RateBucket.name == limit.name, level >= 1)
        .values(
            tokens=level - 1,
            updated_at=case((RateBucket.updated_at > at, RateBucket.updated_at), else_=at),
        )
        .returning(RateBucket.tokens)
    )
