"""Calls over time, by UK day or week, and the English/Welsh split, for the figures page.

Counted from the calls (test calls left out) in UTC hours, then put into UK days in
Python: UK time differs from UTC by whole hours, so an hour never straddles a UK
midnight, and this works the same on SQLite (which has no time zones) and on
PostgreSQL. A year is at most 8,784 hourly groups.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.models import Call

UK = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class OverTime:
    by_day: list[tuple[date, int]]  # every UK day of the period, 0 included
    by_week: list[tuple[date, int]]  # keyed by the week's Monday
    by_language: dict[str, int]


def calls_over_time(
    session: Session, start: datetime, end: datetime, line: str | None = None
) -> OverTime:
    hour = _utc_hour(session)
    stmt = (
        select(hour, Call.language, func.count())
        .where(Call.started_at >= start, Call.started_at < end, Call.is_test.is_(False))
        .group_by(hour, Call.language)
    )
    if line:
        stmt = stmt.where(Call.line == line)
    days: Counter[date] = Counter()
    languages: Counter[str] = Counter()
    for bucket, language, count in session.execute(stmt):
        moment = _as_utc_hour(bucket)
        days[moment.astimezone(UK).date()] += int(count)
        languages[language] += int(count)
    first = start.astimezone(UK).date()
    last = (end - timedelta(microseconds=1)).astimezone(UK).date()
    every_day = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    weeks: Counter[date] = Counter()
    for day in every_day:
        weeks[day - timedelta(days=day.weekday())] += days[day]
    return OverTime(
        by_day=[(day, days[day]) for day in every_day],
        by_week=sorted(weeks.items()),
        by_language=dict(languages),
    )


def _utc_hour(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", Call.started_at))
    return func.strftime("%Y-%m-%d %H:00:00", Call.started_at)  # SQLite stores UTC text


def _as_utc_hour(bucket: datetime | str) -> datetime:
    moment = datetime.fromisoformat(bucket) if isinstance(bucket, str) else bucket
    return moment.replace(tzinfo=UTC)
