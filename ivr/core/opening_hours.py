"""A line's opening hours: a weekly schedule and the days it is closed, in UK time.

Read from the `[hours]` table of a line's call_flows/<line>/flow.toml:

    [hours]
    timezone = "Europe/London"
    mon = ["08:00", "20:00"]     # opens, closes (24-hour clock); a day left out is closed
    closed_on = ["2026-12-25"]   # bank holidays and other days it is closed all day

A line without `[hours]` is always open (callers are still told when nobody is free).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class HoursError(ValueError):
    """The [hours] table is malformed; one line for a human."""


@dataclass(frozen=True)
class OpeningHours:
    timezone: ZoneInfo
    week: dict[str, tuple[time, time]]  # day -> (opens, closes)
    closed_on: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> OpeningHours:
        try:
            zone = ZoneInfo(str(table.get("timezone", "Europe/London")))
            week = {}
            for day in DAYS:
                span = table.get(day) or []
                if span:
                    opens, closes = (time.fromisoformat(str(t)) for t in span)
                    if closes <= opens:
                        raise HoursError(f"[hours] {day}: closes at or before it opens")
                    week[day] = (opens, closes)
            closed = frozenset(date.fromisoformat(str(d)) for d in table.get("closed_on", []))
        except (ValueError, TypeError, KeyError) as exc:
            raise HoursError(f"[hours] is not a schedule: {exc}") from None
        unknown = set(table) - {*DAYS, "timezone", "closed_on"}
        if unknown:
            raise HoursError(f"[hours] has unknown keys: {', '.join(sorted(unknown))}")
        return cls(zone, week, closed)

    def _span(self, day: date) -> tuple[time, time] | None:
        if day in self.closed_on:
            return None
        return self.week.get(DAYS[day.weekday()])

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.timezone)
        span = self._span(local.date())
        return span is not None and span[0] <= local.time() < span[1]

    def next_opening(self, now: datetime) -> datetime | None:
        """When the line next opens (local time), within a fortnight; None if never."""
        local = now.astimezone(self.timezone)
        for ahead in range(15):
            day = local.date() + timedelta(days=ahead)
            span = self._span(day)
            if span is None:
                continue
            opens = datetime.combine(day, span[0], tzinfo=self.timezone)
            if opens > local:
                return opens
        return None
