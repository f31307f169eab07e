"""Counting the calls of whole UTC days, straight from the calls and their step events:
what FigureDay (ivr/models/figures.py) holds once a day has settled.

Shared by the figures (ivr/insight/figure_queries.py), which count the days not rolled up
yet this way, and by the roll-up (ivr/insight/roll_up.py), which stores them.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select, union
from sqlalchemy.orm import Session

from ivr.core.coarse_time import WAIT_STEP_BEYOND, WAIT_STEPS
from ivr.models import Call, CallEvent, CallOutcome

# A day is settled once every call started in it has ended: a call lasts
# minutes, so a day's grace is plenty.
SETTLE = timedelta(days=1)
# What FigureDay counts, per day and line: callers who reached a step (key: the
# step), calls by outcome (key: "outcome:abandoned_step"), and the waiting-time
# histograms (key: seconds, rounded down to the histogram's step).
REACHED, OUTCOME, WAIT_ALL, WAIT_ANSWERED = "reached", "outcome", "wait_all", "wait_answered"

# The waiting-time histogram's steps live in ivr/core/coarse_time.py: an ended call's
# durations are kept to them too (ivr/voice/call_end.py).

# (day, line, figure, key) -> count
DayCounts = Counter[tuple[date, str, str, str]]


def wait_step(seconds: Any) -> ColumnElement[int]:
    """In SQL: a waiting time (a column or a value) rounded down to the histogram's step."""
    return case(
        *((seconds < below, seconds - seconds % size) for below, size in WAIT_STEPS),
        else_=seconds - seconds % WAIT_STEP_BEYOND,
    )


def settled_days_end(now: datetime) -> date:
    """Days before this one are settled: every call started then has ended."""
    return (now.astimezone(UTC) - SETTLE).date()


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def as_date(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def spans(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as [first, end) spans."""
    found: list[tuple[date, date]] = []
    for day in sorted(days):
        if found and found[-1][1] == day:
            found[-1] = (found[-1][0], day + timedelta(days=1))
        else:
            found.append((day, day + timedelta(days=1)))
    return found


def within(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def real_call() -> ColumnElement[bool]:
    """Not a test call: every figure leaves those out."""
    return Call.is_test.is_(False)


def count_days(session: Session, start: datetime, end: datetime, line: str | None) -> DayCounts:
    """(day, line, figure, key) -> count, from the calls started in [start, end)."""
    day = _day(session, Call.started_at)
    scoped = [within(Call.started_at, start, end), real_call()]
    if line:
        scoped.append(Call.line == line)
    counts: DayCounts = Counter()

    answered = (
        select(CallEvent.call_id, CallEvent.step, day.label("day"), Call.line)
        .join(Call, Call.id == CallEvent.call_id)
        .where(*scoped)
    )
    abandoned = Call.outcome == CallOutcome.ABANDONED
    hung_up_at = select(Call.id, Call.abandoned_step, day, Call.line).where(abandoned, *scoped)
    queued = select(Call.id, Call.step, day, Call.line).where(Call.queued_at.is_not(None), *scoped)
    visits = union(answered, hung_up_at, queued).subquery()  # UNION: once per call and step
    group = (visits.c.day, visits.c.line, visits.c.step)
    for visit_day, visit_line, step, n in session.execute(
        select(*group, func.count()).where(visits.c.step.is_not(None)).group_by(*group)
    ):
        counts[(as_date(visit_day), visit_line, REACHED, step)] += n

    for call_day, call_line, outcome, step, n in session.execute(
        select(day, Call.line, Call.outcome, Call.abandoned_step, func.count())
        .where(*scoped)
        .group_by(day, Call.line, Call.outcome, Call.abandoned_step)
    ):
        hung_up_at_step = outcome == CallOutcome.ABANDONED
        key = f"{outcome or ''}:{step or ''}" if hung_up_at_step else f"{outcome or ''}:"
        counts[(as_date(call_day), call_line, OUTCOME, key)] += n

    seconds = Call.queue_seconds
    step = wait_step(seconds)
    was_answered = Call.outcome == CallOutcome.ANSWERED
    for wait_day, wait_line, wait, answered_call, n in session.execute(
        select(day, Call.line, step, was_answered, func.count())
        .where(Call.queued_at.is_not(None), seconds.is_not(None), *scoped)
        .group_by(day, Call.line, step, was_answered)
    ):
        counts[(as_date(wait_day), wait_line, WAIT_ALL, str(wait))] += n
        if answered_call:
            counts[(as_date(wait_day), wait_line, WAIT_ANSWERED, str(wait))] += n
    return counts


def _day(session: Session, column: Any) -> Any:
    """The UTC calendar day of a stored time, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite stores UTC text
