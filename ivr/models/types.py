"""One datetime column type: stored in UTC, always read back as an aware UTC datetime.

PostgreSQL's `timestamptz` gives aware datetimes back, SQLite's text gives naive
ones; before this type, six places patched the difference by hand. Now every
datetime column is `UTCDateTime` and code compares and subtracts what it reads
without asking where it came from.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # A naive time could be anyone's local time; refuse it rather than guess.
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware (UTC) time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: what we stored was UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
