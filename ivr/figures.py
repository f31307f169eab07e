"""The line's figures over a period: calls and how they went, reports, what was
passed to which force, waiting times and the IVR funnel; and their CSV.

Every figure leaves out test calls (`Call.is_test`) and reports made from them.
A period is half-open, [start, end), in UTC. Each figure is counted by the
moment that defines it:

- calls, outcomes, waiting times and the funnel: when the call started;
- online reports and reports from calls: when the report was created;
- reports approved: when a supervisor approved it (`reviewed_at`);
- intelligence passed (disseminations): when the force acknowledged it
  (`delivered_at`); awaiting delivery: written to the outbox in the period and
  not acknowledged yet.

Counting is done by the database (one grouped scan per figure, no row
loading), except the categories of disseminated reports, which are a JSON list
per report and are counted here over the period's disseminations only.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, exists, func, literal, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ivr.call_log import as_utc
from ivr.models import Call, CallEvent, Dissemination, FunnelDay, Report, utcnow

SETTLE = timedelta(days=1)

# What a force can tell us it did with a piece of intelligence (ivr/force_outcomes.py).
FORCE_OUTCOMES = {
    "investigation": "Investigation opened",
    "passed_to_other_force": "Passed to another force",
    "safeguarding": "Safeguarding action",
    "recorded": "Recorded for future investigations",
}


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


@dataclass(frozen=True)
class FunnelStep:
    step: str
    reached: int  # callers who heard this step
    hung_up: int  # callers who hung up while at this step


@dataclass(frozen=True)
class Waiting:
    """Seconds in the queue, nearest-rank percentiles (None when nobody queued)."""

    count: int
    median: int | None
    p90: int | None


@dataclass
class Figures:
    period: Period
    calls: int = 0
    answered: int = 0
    abandoned: int = 0  # hung up in the call flow, before the queue
    left_queue: int = 0  # queued, hung up before a handler answered
    left_for_online: int = 0  # queued, chose to leave and report online
    failed: int = 0
    in_progress: int = 0
    abandoned_by_step: dict[str, int] = field(default_factory=dict)
    waiting_all: Waiting = Waiting(0, None, None)  # every queued caller
    waiting_answered: Waiting = Waiting(0, None, None)  # those a handler answered
    online_reports: int = 0
    call_reports: int = 0
    reports_approved: int = 0
    # force_id -> count; a report about several forces is passed to each.
    passed_by_force: dict[str, int] = field(default_factory=dict)
    # category -> count of pieces passed; a report in several categories counts in each.
    passed_by_category: dict[str, int] = field(default_factory=dict)
    awaiting_by_force: dict[str, int] = field(default_factory=dict)
    # force_outcome (or "not reported") -> count, over the pieces passed in the period.
    force_outcomes: dict[str, int] = field(default_factory=dict)
    funnel: list[FunnelStep] = field(default_factory=list)

    @property
    def intelligence_passed(self) -> int:
        return sum(self.passed_by_force.values())

    @property
    def queued_and_left(self) -> int:
        return self.left_queue + self.left_for_online


@dataclass(frozen=True)
class AnnouncementFigures:
    """The launch announcement's figures, for the whole service or one force."""

    calls: int
    online_reports: int
    intelligence_passed: int
    investigations: int
    passed_to_other_forces: int


def figures(
    session: Session,
    period: Period,
    line: str | None = None,
    step_order: list[str] | None = None,
    now: datetime | None = None,
) -> Figures:
    result = Figures(period)
    _call_outcomes(session, period, line, result)
    result.waiting_all, result.waiting_answered = _waiting(session, period, line)
    _reports(session, period, result)
    _disseminations(session, period, result)
    result.funnel = funnel(session, period, line, step_order, now)
    return result


def announcement_figures(
    session: Session, period: Period, force: str | None = None
) -> AnnouncementFigures:
    """Calls, online reports, pieces of intelligence passed and what the forces
    did with them; with `force`, the pieces passed to that force only (the
    announcement's "Met-led investigations" are force="metropolitan")."""
    passed = select(Dissemination.force_outcome, func.count()).where(
        Dissemination.state == "delivered",
        _in(Dissemination.delivered_at, period),
        _dissemination_not_from_test_call(),
    )
    if force:
        passed = passed.where(Dissemination.force_id == force)
    outcomes = dict(session.execute(passed.group_by(Dissemination.force_outcome)).all())
    calls = session.scalar(
        select(func.count()).select_from(Call).where(_in(Call.started_at, period), _real_call())
    )
    online = session.scalar(
        select(func.count())
        .select_from(Report)
        .where(Report.origin == "online", _in(Report.created_at, period))
    )
    return AnnouncementFigures(
        calls=int(calls or 0),
        online_reports=int(online or 0),
        intelligence_passed=sum(outcomes.values()),
        investigations=outcomes.get("investigation", 0),
        passed_to_other_forces=outcomes.get("passed_to_other_force", 0),
    )


def funnel(
    session: Session,
    period: Period,
    line: str | None = None,
    step_order: list[str] | None = None,
    now: datetime | None = None,
) -> list[FunnelStep]:
    """For each step: how many callers reached it and how many hung up there.

    A caller reached a step when they answered it (a CallEvent there), hung up
    while at it (`abandoned_step`) or, for the queue, were queued; a caller who
    answered a step twice counts once. Message steps are passed through and
    count towards the step after them.

    Whole days that have settled (every call started then has ended) are
    counted once into FunnelDay and read from there: a year is 365 small rows,
    not millions of events, and the counts outlive the events, which `ivr
    purge` erases after the retention period. The rest of the period (the last
    day or two, a part-day at either end) is counted from the events.
    """
    now = now or utcnow()
    first_day, end_day = _whole_days(period, now)
    reached: Counter[str] = Counter()
    hung_up: Counter[str] = Counter()
    live = [(period.start, period.end)]
    if first_day < end_day:
        roll_up(session, first_day, end_day)
        stored = select(FunnelDay.step, func.sum(FunnelDay.reached), func.sum(FunnelDay.hung_up))
        stored = stored.where(
            FunnelDay.day >= first_day, FunnelDay.day < end_day, FunnelDay.step != ""
        )
        if line:
            stored = stored.where(FunnelDay.line == line)
        for step, step_reached, step_hung_up in session.execute(stored.group_by(FunnelDay.step)):
            reached[step] += int(step_reached)
            hung_up[step] += int(step_hung_up)
        live = [(period.start, _midnight(first_day)), (_midnight(end_day), period.end)]
    for start, end in live:
        if start < end:
            for (_day, _line, step), (count, gone) in _visits(session, start, end, line).items():
                reached[step] += count
                hung_up[step] += gone
    steps = [s for s in step_order or [] if reached[s] or hung_up[s]]
    others = [s for s in reached if s not in steps and reached[s]]
    steps += sorted(others, key=lambda s: -reached[s])
    return [FunnelStep(s, reached[s], hung_up[s]) for s in steps]


def roll_up(session: Session, first_day: date, end_day: date) -> int:
    """Count the days in [first_day, end_day) not counted yet into FunnelDay; commit.
    Returns how many days were counted. Only settled days should be given."""
    earliest = session.scalar(select(func.min(Call.started_at)))
    if earliest is None:
        return 0
    first_day = max(first_day, as_utc(earliest).date())
    done = set(
        _as_date(day)
        for day in session.scalars(
            select(FunnelDay.day).where(
                FunnelDay.line == "",
                FunnelDay.day >= first_day,
                FunnelDay.day < end_day,
            )
        )
    )
    missing = [
        first_day + timedelta(days=n)
        for n in range((end_day - first_day).days)
        if first_day + timedelta(days=n) not in done
    ]
    for span_first, span_end in _spans(missing):
        counts = _visits(session, _midnight(span_first), _midnight(span_end), None)
        session.add_all(
            FunnelDay(day=day, line=line, step=step, reached=count, hung_up=gone)
            for (day, line, step), (count, gone) in counts.items()
        )
        session.add_all(
            FunnelDay(day=span_first + timedelta(days=n), line="", step="", reached=0, hung_up=0)
            for n in range((span_end - span_first).days)
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another request counted these days at the same moment
    return len(missing)


def settled_days_end(now: datetime) -> date:
    """Days before this one are settled: every call started then has ended
    (a call lasts minutes; a day's grace is plenty)."""
    return (as_utc(now) - SETTLE).date()


def csv_text(result: Figures) -> str:
    """Every figure as CSV rows: figure, breakdown, value. Aggregate counts only."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["figure", "breakdown", "value"])
    writer.writerow(["period", "", str(result.period)])
    for name in (
        "calls",
        "answered",
        "abandoned",
        "left_queue",
        "left_for_online",
        "failed",
        "in_progress",
        "online_reports",
        "call_reports",
        "reports_approved",
        "intelligence_passed",
    ):
        writer.writerow([name, "", getattr(result, name)])
    for label, waiting in (
        ("waiting_seconds_all", result.waiting_all),
        ("waiting_seconds_answered", result.waiting_answered),
    ):
        writer.writerow([label, "count", waiting.count])
        writer.writerow([label, "median", "" if waiting.median is None else waiting.median])
        writer.writerow([label, "p90", "" if waiting.p90 is None else waiting.p90])
    for label, table in (
        ("abandoned_at_step", result.abandoned_by_step),
        ("passed_by_force", result.passed_by_force),
        ("passed_by_category", result.passed_by_category),
        ("awaiting_by_force", result.awaiting_by_force),
        ("force_outcome", result.force_outcomes),
    ):
        for key, value in sorted(table.items()):
            writer.writerow([label, key, value])
    for step in result.funnel:
        writer.writerow(["funnel_reached", step.step, step.reached])
        writer.writerow(["funnel_hung_up", step.step, step.hung_up])
    return out.getvalue()


def nearest_rank(values: list[int], fraction: float) -> int | None:
    """The smallest value with at least `fraction` of the values at or below it
    (PostgreSQL's percentile_disc)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


# ---------------------------------------------------------------- the parts
def _call_outcomes(session: Session, period: Period, line: str | None, result: Figures) -> None:
    stmt = select(Call.outcome, Call.abandoned_step, func.count()).where(
        _in(Call.started_at, period), _real_call()
    )
    if line:
        stmt = stmt.where(Call.line == line)
    for outcome, step, count in session.execute(stmt.group_by(Call.outcome, Call.abandoned_step)):
        result.calls += count
        if outcome == "abandoned":
            result.abandoned += count
            key = step or "unknown"
            result.abandoned_by_step[key] = result.abandoned_by_step.get(key, 0) + count
        elif outcome == "answered":
            result.answered += count
        elif outcome == "left_queue":
            result.left_queue += count
        elif outcome == "left_for_online":
            result.left_for_online += count
        elif outcome == "failed":
            result.failed += count
        else:
            result.in_progress += count


def _waiting(session: Session, period: Period, line: str | None) -> tuple[Waiting, Waiting]:
    """Waiting times of every queued caller, and of those a handler answered."""
    conditions = [
        _in(Call.started_at, period),
        _real_call(),
        Call.queued_at.is_not(None),
        Call.queue_seconds.is_not(None),
    ]
    if line:
        conditions.append(Call.line == line)
    answered = Call.outcome == "answered"
    if session.get_bind().dialect.name == "postgresql":
        # One scan; percentile_disc is the nearest rank, as nearest_rank() below.
        waits = Call.queue_seconds
        row = session.execute(
            select(
                func.count(),
                func.percentile_disc(0.5).within_group(waits),
                func.percentile_disc(0.9).within_group(waits),
                func.count().filter(answered),
                func.percentile_disc(0.5).within_group(waits).filter(answered),
                func.percentile_disc(0.9).within_group(waits).filter(answered),
            ).where(*conditions)
        ).one()
        return Waiting(int(row[0]), row[1], row[2]), Waiting(int(row[3]), row[4], row[5])
    rows = session.execute(select(Call.queue_seconds, answered).where(*conditions)).all()
    every = [seconds for seconds, _ in rows]
    taken = [seconds for seconds, was_answered in rows if was_answered]
    return (
        Waiting(len(every), nearest_rank(every, 0.5), nearest_rank(every, 0.9)),
        Waiting(len(taken), nearest_rank(taken, 0.5), nearest_rank(taken, 0.9)),
    )


def _reports(session: Session, period: Period, result: Figures) -> None:
    created = session.execute(
        select(Report.origin, func.count())
        .where(_in(Report.created_at, period), _report_not_from_test_call())
        .group_by(Report.origin)
    ).all()
    by_origin = {origin: int(count) for origin, count in created}
    result.online_reports = by_origin.get("online", 0)
    result.call_reports = by_origin.get("call", 0)
    result.reports_approved = int(
        session.scalar(
            select(func.count())
            .select_from(Report)
            .where(
                Report.status.in_(("approved", "disseminated")),
                _in(Report.reviewed_at, period),
                _report_not_from_test_call(),
            )
        )
        or 0
    )


def _disseminations(session: Session, period: Period, result: Figures) -> None:
    passed = session.execute(
        select(Dissemination.force_id, Dissemination.force_outcome, func.count())
        .where(
            Dissemination.state == "delivered",
            _in(Dissemination.delivered_at, period),
            _dissemination_not_from_test_call(),
        )
        .group_by(Dissemination.force_id, Dissemination.force_outcome)
    ).all()
    by_force: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for force_id, outcome, count in passed:
        by_force[force_id] += count
        outcomes[outcome or "not_reported"] += count
    result.passed_by_force = dict(by_force)
    result.force_outcomes = dict(outcomes)

    categories: Counter[str] = Counter()
    rows = session.execute(
        select(Report.categories)
        .join(Dissemination, Dissemination.report_id == Report.id)
        .where(
            Dissemination.state == "delivered",
            _in(Dissemination.delivered_at, period),
            _report_not_from_test_call(),
        )
    )
    for (report_categories,) in rows:
        for category in set(report_categories or []) or {"unknown"}:
            categories[category] += 1
    result.passed_by_category = dict(categories)

    awaiting = session.execute(
        select(Dissemination.force_id, func.count())
        .where(
            Dissemination.state == "pending",
            _in(Dissemination.created_at, period),
            _dissemination_not_from_test_call(),
        )
        .group_by(Dissemination.force_id)
    ).all()
    result.awaiting_by_force = {force_id: int(count) for force_id, count in awaiting}


def _in(column, period: Period):  # type: ignore[no-untyped-def]
    return and_(column >= period.start, column < period.end)


def _visits(
    session: Session, start: datetime, end: datetime, line: str | None
) -> dict[tuple[date, str, str], list[int]]:
    """(day, line, step) -> [callers who reached it, callers who hung up there],
    counted from the events of calls started in [start, end)."""
    day = _day(session, Call.started_at)
    scoped = [_in(Call.started_at, Period(start, end)), _real_call()]
    if line:
        scoped.append(Call.line == line)
    answered = (
        select(CallEvent.call_id, CallEvent.step, day.label("day"), Call.line)
        .join(Call, Call.id == CallEvent.call_id)
        .where(*scoped)
    )
    abandoned = Call.outcome == "abandoned"
    hung_up_at = select(Call.id, Call.abandoned_step, day, Call.line).where(abandoned, *scoped)
    queued = select(Call.id, Call.step, day, Call.line).where(Call.queued_at.is_not(None), *scoped)
    visits = union(answered, hung_up_at, queued).subquery()  # UNION: once per call and step
    counts: dict[tuple[date, str, str], list[int]] = {}
    group = (visits.c.day, visits.c.line, visits.c.step)
    for visit_day, visit_line, step, count in session.execute(
        select(*group, func.count()).where(visits.c.step.is_not(None)).group_by(*group)
    ):
        counts.setdefault((_as_date(visit_day), visit_line, step), [0, 0])[0] += count
    for hung_day, hung_line, step, count in session.execute(
        select(day, Call.line, Call.abandoned_step, func.count())
        .where(abandoned, Call.abandoned_step.is_not(None), *scoped)
        .group_by(day, Call.line, Call.abandoned_step)
    ):
        counts.setdefault((_as_date(hung_day), hung_line, step), [0, 0])[1] += count
    return counts


def _day(session: Session, column):  # type: ignore[no-untyped-def]
    """The UTC calendar day of a stored time, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)  # SQLite stores UTC text


def _as_date(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _whole_days(period: Period, now: datetime) -> tuple[date, date]:
    """The settled whole days inside the period: [first, end)."""
    start = as_utc(period.start)
    first = start.date() if start == _midnight(start.date()) else start.date() + timedelta(days=1)
    end = min(as_utc(period.end).date(), settled_days_end(now))
    return first, max(first, end)


def _spans(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as [first, end) spans."""
    spans: list[tuple[date, date]] = []
    for day in days:
        if spans and spans[-1][1] == day:
            spans[-1] = (spans[-1][0], day + timedelta(days=1))
        else:
            spans.append((day, day + timedelta(days=1)))
    return spans


def _real_call():  # type: ignore[no-untyped-def]
    return Call.is_test.is_(False)


def _report_not_from_test_call():  # type: ignore[no-untyped-def]
    """For a statement over Report: the report was not made from a test call."""
    return ~exists().where(Call.id == Report.call_id, Call.is_test.is_(True))


def _dissemination_not_from_test_call():  # type: ignore[no-untyped-def]
    """For a statement over Dissemination: its report was not made from a test call."""
    report, call = aliased(Report), aliased(Call)
    return ~exists(
        select(literal(1))
        .select_from(report)
        .join(call, call.id == report.call_id)
        .where(report.id == Dissemination.report_id, call.is_test.is_(True))
    )
