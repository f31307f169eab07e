"""The span of time a figure is counted over: half-open, [start, end), in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # exclusive

    @classmethod
    def of_days(cls, first: date, last: date) -> Period:
        """From the start of `first` to the end of `last` (both included), UTC."""
        start = datetime.combine(first, time(), tzinfo=UTC)
        end = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
        return cls(start, end)

    def __str__(self) -> str:
        last = (self.end - timedelta(microseconds=1)).date()
        return f"{self.start.date().isoformat()} to {last.isoformat()}"
