"""The figures' queries: each counts one thing over a period and reads only (never
writes or commits). ivr/insight/figures.py makes the figures of them and says which
moment counts each one. Test calls (`Call.is_test`) and the reports made from them
are always left out.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session

from ivr.insight.day_counts import as_date, count_days, midnight, settled_days_end, spans, within
from ivr.insight.period import Period
from ivr.models import (
    RELEASED,
    Call,
    CountedDay,
    Dissemination,
    DisseminationState,
    FigureDay,
    Report,
    utcnow,
)


def call_counts(
    session: Session, period: Period, line: str | None = None, now: datetime | None = None
) -> Counter[tuple[str, str]]:
    """(figure, key) -> count over the period's calls: the days the roll-up has
    counted from FigureDay, the rest (days not settled or not rolled up yet, and
    part-days at either end) from the calls. Reads only: never writes or commits."""
    first_day, end_day = _whole_days(period, now or utcnow())
    counts: Counter[tuple[str, str]] = Counter()
    live = [(period.start, period.end)]
    if first_day < end_day:
        counted = {
            as_date(day)
            for day in session.scalars(
                select(CountedDay.day).where(CountedDay.day >= first_day, CountedDay.day < end_day)
            )
        }
        stored = select(FigureDay.figure, FigureDay.key, func.sum(FigureDay.count)).where(
            FigureDay.day >= first_day, FigureDay.day < end_day
        )
        if line:
            stored = stored.where(FigureDay.line == line)
        for figure, key, count in session.execute(stored.group_by(FigureDay.figure, FigureDay.key)):
            counts[(figure, key)] += int(count)
        uncounted = [
            first_day + timedelta(days=n)
            for n in range((end_day - first_day).days)
            if first_day + timedelta(days=n) not in counted
        ]
        live = [
            (period.start, midnight(first_day)),
            *((midnight(a), midnight(b)) for a, b in spans(uncounted)),
            (midnight(end_day), period.end),
        ]
    for start, end in live:
        if start < end:
            for (_day, _line, figure, key), count in count_days(session, start, end, line).items():
                counts[(figure, key)] += count
    return counts


def reports_by_origin(session: Session, period: Period) -> dict[str, int]:
    """Reports created in the period, by origin (online or from a call)."""
    created = session.execute(
        select(Report.origin, func.count())
        .where(_in(Report.created_at, period), _not_from_test_call())
        .group_by(Report.origin)
    ).all()
    return {origin: int(count) for origin, count in created}


def reports_approved(session: Session, period: Period) -> int:
    """Reports a supervisor approved in the period."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Report)
            .where(
                Report.status.in_(RELEASED),
                _in(Report.reviewed_at, period),
                _not_from_test_call(),
            )
        )
        or 0
    )


def passed_by_force(session: Session, period: Period) -> list[tuple[str, str | None, int]]:
    """The pieces passed in the period: (force, what the force did with them, how many)."""
    return [
        (force_id, outcome, int(count))
        for force_id, outcome, count in session.execute(
            select(Dissemination.force_id, Dissemination.force_outcome, func.count())
            .join(Report, Report.id == Dissemination.report_id)
            .where(*_passed(period))
            .group_by(Dissemination.force_id, Dissemination.force_outcome)
        )
    ]


def passed_by_category(session: Session, period: Period) -> dict[str, int]:
    """The pieces passed in the period by the report's categories (a JSON list, each
    category once: a report in two counts in each)."""
    if session.get_bind().dialect.name == "postgresql":
        each = func.json_array_elements_text(Report.categories).table_valued("value").lateral()
    else:
        each = func.json_each(Report.categories).table_valued("value")
    category = func.coalesce(each.c.value, "unknown")
    return {
        str(name): int(count)
        for name, count in session.execute(
            select(category, func.count())
            .select_from(Dissemination)
            .join(Report, Report.id == Dissemination.report_id)
            .outerjoin(each, true())
            .where(*_passed(period))
            .group_by(category)
        )
    }


def awaiting_by_force(session: Session, period: Period) -> dict[str, int]:
    """Deliveries written to the outbox in the period and not acknowledged yet, by force."""
    awaiting = session.execute(
        select(Dissemination.force_id, func.count())
        .join(Report, Report.id == Dissemination.report_id)
        .where(
            Dissemination.state == DisseminationState.PENDING,
            _in(Dissemination.created_at, period),
            _not_from_test_call(),
        )
        .group_by(Dissemination.force_id)
    ).all()
    return {force_id: int(count) for force_id, count in awaiting}


def outcomes_passed(
    session: Session, period: Period, force: str | None = None
) -> dict[str | None, int]:
    """What the forces did with the pieces passed in the period (None: not reported);
    with `force`, the pieces passed to that force only."""
    passed = (
        select(Dissemination.force_outcome, func.count())
        .join(Report, Report.id == Dissemination.report_id)
        .where(*_passed(period))
    )
    if force:
        passed = passed.where(Dissemination.force_id == force)
    return dict(session.execute(passed.group_by(Dissemination.force_outcome)).all())


def _passed(period: Period) -> list:
    """A delivery acknowledged in the period, of a report not made from a test call."""
    return [
        Dissemination.state == DisseminationState.DELIVERED,
        _in(Dissemination.delivered_at, period),
        _not_from_test_call(),
    ]


def _in(column, period: Period):
    return within(column, period.start, period.end)


def _whole_days(period: Period, now: datetime) -> tuple[date, date]:
    """The settled whole days inside the period: [first, end)."""
    start = period.start.astimezone(UTC)
    first = start.date() if start == midnight(start.date()) else start.date() + timedelta(days=1)
    end = min(period.end.astimezone(UTC).date(), settled_days_end(now))
    return first, max(first, end)


def _not_from_test_call():
    """For a statement over Report: not made from a test call. Test calls are
    few and have a partial index (ix_calls_test), so this is one small lookup."""
    # `WHERE is_test`, word for word the partial index's predicate, so it is used.
    test_calls = select(Call.id).where(Call.is_test)
    return or_(Report.call_id.is_(None), Report.call_id.not_in(test_calls))
