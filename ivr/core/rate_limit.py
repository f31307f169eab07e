"""Rate limits without keeping anyone's address: token buckets in the database, one
row per purpose (all online submissions together, all follow-up checks together),
shared by every worker on every host.

A bucket holds up to `capacity` tokens and refills at `per_minute`; taking one when it
is empty is refused. PostgreSQL locks the row (FOR UPDATE) so concurrent takers queue;
SQLite's writer lock does the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.models import RateBucket, utcnow


@dataclass(frozen=True)
class Limit:
    name: str
    capacity: int
    per_minute: float


def take(session: Session, limit: Limit, now: datetime | None = None) -> bool:
    """Take one token; False when the bucket is empty. The caller commits."""
    now = now or utcnow()
    bucket = session.scalar(
        select(RateBucket).where(RateBucket.name == limit.name).with_for_update()
    )
    if bucket is None:
        try:
            with session.begin_nested():  # two workers may both make the first row
                session.add(
                    RateBucket(name=limit.name, tokens=float(limit.capacity), updated_at=now)
                )
        except IntegrityError:
            pass
        bucket = session.scalar(
            select(RateBucket).where(RateBucket.name == limit.name).with_for_update()
        )
        assert bucket is not None
    elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
    tokens = min(float(limit.capacity), bucket.tokens + elapsed * limit.per_minute / 60)
    bucket.updated_at = now
    if tokens < 1:
        bucket.tokens = tokens
        return False
    bucket.tokens = tokens - 1
    return True
