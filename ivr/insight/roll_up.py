"""The daily roll-up: each settled day's call figures counted once into FigureDay.

This is the one part of the figures that writes. It runs where writing is the
job: on the delivery worker's loop (`ivr deliver`, about once an hour) and in
`ivr purge` before step events are erased. The figures page only reads: a day
not rolled up yet is counted from the calls themselves (ivr/insight/figure_queries.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.insight.day_counts import as_date, count_days, midnight, settled_days_end, spans
from ivr.models import Call, CountedDay, FigureDay, utcnow


def roll_up(session: Session, first_day: date, end_day: date) -> int:
    """Count the days in [first_day, end_day) not counted yet into FigureDay; commit.
    Returns how many days were counted. Give settled days only (settled_days_end)."""
    earliest = session.scalar(select(func.min(Call.started_at)))
    if earliest is None:
        return 0
    first_day = max(first_day, earliest.date())
    done = {
        as_date(day)
        for day in session.scalars(
            select(CountedDay.day).where(CountedDay.day >= first_day, CountedDay.day < end_day)
        )
    }
    missing = [
        first_day + timedelta(days=n)
        for n in range((end_day - first_day).days)
        if first_day + timedelta(days=n) not in done
    ]
    for span_first, span_end in spans(missing):
        counts = count_days(session, midnight(span_first), midnight(span_end), None)
        session.add_all(
            FigureDay(day=day, line=line, figure=figure, key=key, count=count)
            for (day, line, figure, key), count in counts.items()
        )
        session.add_all(
            CountedDay(day=span_first + timedelta(days=n))
            for n in range((span_end - span_first).days)
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another worker counted these days at the same moment
    return len(missing)


def roll_up_settled(session: Session, now: datetime | None = None) -> int:
    """Count every settled day not counted yet; commit. Returns how many days."""
    return roll_up(session, date.min, settled_days_end(now or utcnow()))
