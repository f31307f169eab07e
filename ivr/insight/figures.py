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

Call figures (outcomes, waiting times, the funnel) are counted once per
settled day into FigureDay (ivr/models/figures.py) and summed from there: a
year is a few hundred small rows per day instead of half a million calls and
millions of step events, and the counts outlive the step events, which
`ivr purge` erases after the retention period. What is not settled yet (the
last day or two) and part-days at either end of a period are counted from the
calls themselves. Reports and deliveries are few (one call in tens makes a
report) and are counted directly.

Waiting times are kept as a histogram: in 5-second steps under a minute, in
10-second steps to ten minutes, in minutes to an hour, in 10-minute steps
beyond; the median and 90th percentile are the nearest rank (PostgreSQL's
percentile_disc) over it, so they are exact to that step.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, func, or_, select, true, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.insight.call_log import as_utc
from ivr.models import Call, CallEvent, CountedDay, Dissemination, FigureDay, Report, utcnow

# A day is settled once every call started in it has ended: a call lasts
# minutes, so a day's grace is plenty.
SETTLE = timedelta(days=1)
# What FigureDay counts, per day and line: callers who reached a step (key: the
# step), calls by outcome (key: "outcome:abandoned_step"), and the waiting-time
# histograms (key: seconds, rounded down to the histogram's step).
REACHED, OUTCOME, WAIT_ALL, WAIT_ANSWERED = "reached", "outcome", "wait_all", "wait_answered"

# What a force can tell us it did with a piece of intelligence (ivr/records/force_outcomes.py).
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
    closed: int = 0  # rang outside opening hours: told so at once
    no_handler: int = 0  # nobody available to answer: told so at once (or while queued)
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
    counts = call_counts(session, period, line, now)
    _outcomes(counts, result)
    result.waiting_all = _waiting(counts, WAIT_ALL)
    result.waiting_answered = _waiting(counts, WAIT_ANSWERED)
    result.funnel = _funnel(counts, step_order)
    _reports(session, period, result)
    _disseminations(session, period, result)
    return result


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
    count towards the step after them. Steps come in `step_order`, then any
    other by how many reached it.
    """
    return _funnel(call_counts(session, period, line, now), step_order)


def announcement_figures(
    session: Session,
    period: Period,
    force: str | None = None,
    counted: Figures | None = None,
) -> AnnouncementFigures:
    """Calls, online reports, pieces of intelligence passed and what the forces
    did with them; with `force`, the pieces passed to that force only (the
    announcement's "Met-led investigations" are force="metropolitan"). Give
    the period's `figures()` as `counted` not to count the calls again."""
    passed = (
        select(Dissemination.force_outcome, func.count())
        .join(Report, Report.id == Dissemination.report_id)
        .where(
            Dissemination.state == "delivered",
            _in(Dissemination.delivered_at, period),
            _not_from_test_call(),
        )
    )
    if force:
        passed = passed.where(Dissemination.force_id == force)
    outcomes = dict(session.execute(passed.group_by(Dissemination.force_outcome)).all())
    if counted is None:
        counted = Figures(period)
        _outcomes(call_counts(session, period), counted)
        _reports(session, period, counted)
    return AnnouncementFigures(
        calls=counted.calls,
        online_reports=counted.online_reports,
        intelligence_passed=sum(outcomes.values()),
        investigations=outcomes.get("investigation", 0),
        passed_to_other_forces=outcomes.get("passed_to_other_force", 0),
    )


def call_counts(
    session: Session, period: Period, line: str | None = None, now: datetime | None = None
) -> Counter[tuple[str, str]]:
    """(figure, key) -> count over the period's calls: settled whole days from
    FigureDay (counting any not counted yet), the rest from the calls."""
    first_day, end_day = _whole_days(period, now or utcnow())
    counts: Counter[tuple[str, str]] = Counter()
    live = [(period.start, period.end)]
    if first_day < end_day:
        roll_up(session, first_day, end_day)
        stored = select(FigureDay.figure, FigureDay.key, func.sum(FigureDay.count)).where(
            FigureDay.day >= first_day, FigureDay.day < end_day
        )
        if line:
            stored = stored.where(FigureDay.line == line)
        for figure, key, count in session.execute(stored.group_by(FigureDay.figure, FigureDay.key)):
            counts[(figure, key)] += int(count)
        live = [(period.start, _midnight(first_day)), (_midnight(end_day), period.end)]
    for start, end in live:
        if start < end:
            for (_day, _line, figure, key), count in _day_counts(session, start, end, line).items():
                counts[(figure, key)] += count
    return counts


def roll_up(session: Session, first_day: date, end_day: date) -> int:
    """Count the days in [first_day, end_day) not counted yet into FigureDay; commit.
    Returns how many days were counted. Give settled days only (settled_days_end)."""
    earliest = session.scalar(select(func.min(Call.started_at)))
    if earliest is None:
        return 0
    first_day = max(first_day, as_utc(earliest).date())
    done = {
        _as_date(day)
        for day in session.scalars(
            select(CountedDay.day).where(CountedDay.day >= first_day, CountedDay.day < end_day)
        )
    }
    missing = [
        first_day + timedelta(days=n)
        for n in range((end_day - first_day).days)
        if first_day + timedelta(days=n) not in done
    ]
    for span_first, span_end in _spans(missing):
        counts = _day_counts(session, _midnight(span_first), _midnight(span_end), None)
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
            session.rollback()  # another request counted these days at the same moment
    return len(missing)


def settled_days_end(now: datetime) -> date:
    """Days before this one are settled: every call started then has ended."""
    return (as_utc(now) - SETTLE).date()


# The waiting-time histogram's steps: (below this many seconds, step in seconds).
WAIT_STEPS = ((60, 5), (600, 10), (3600, 60))
WAIT_STEP_BEYOND = 600


def wait_step(seconds: int) -> int:
    """A waiting time rounded down to the histogram's step (ivr/insight/figures.py's SQL does
    the same)."""
    for below, step in WAIT_STEPS:
        if seconds < below:
            return seconds - seconds % step
    return seconds - seconds % WAIT_STEP_BEYOND


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
        "closed",
        "no_handler",
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
def _outcomes(counts: Counter[tuple[str, str]], result: Figures) -> None:
    for (figure, key), count in counts.items():
        if figure != OUTCOME or not count:
            continue
        outcome, _, step = key.partition(":")
        result.calls += count
        if outcome == "abandoned":
            result.abandoned += count
            step = step or "unknown"
            result.abandoned_by_step[step] = result.abandoned_by_step.get(step, 0) + count
        elif outcome == "answered":
            result.answered += count
        elif outcome == "left_queue":
            result.left_queue += count
        elif outcome == "left_for_online":
            result.left_for_online += count
        elif outcome == "failed":
            result.failed += count
        elif outcome == "closed":
            result.closed += count
        elif outcome == "no_handler":
            result.no_handler += count
        else:
            result.in_progress += count


def _waiting(counts: Counter[tuple[str, str]], figure: str) -> Waiting:
    histogram = sorted((int(key), n) for (f, key), n in counts.items() if f == figure and n)
    total = sum(n for _seconds, n in histogram)
    return Waiting(total, _rank(histogram, total, 0.5), _rank(histogram, total, 0.9))


def _rank(histogram: list[tuple[int, int]], total: int, fraction: float) -> int | None:
    """nearest_rank over a histogram of (value, how many)."""
    if not total:
        return None
    wanted, seen = max(math.ceil(fraction * total), 1), 0
    for value, count in histogram:
        seen += count
        if seen >= wanted:
            return value
    return histogram[-1][0]


def _funnel(counts: Counter[tuple[str, str]], step_order: list[str] | None) -> list[FunnelStep]:
    reached = {key: n for (figure, key), n in counts.items() if figure == REACHED and n}
    hung_up: Counter[str] = Counter()
    for (figure, key), n in counts.items():
        outcome, _, step = key.partition(":")
        if figure == OUTCOME and outcome == "abandoned" and step:
            hung_up[step] += n
    steps = [s for s in step_order or [] if s in reached]
    others = [s for s in reached if s not in steps]
    steps += sorted(others, key=lambda s: -reached[s])
    return [FunnelStep(s, reached[s], hung_up[s]) for s in steps]


def _day_counts(
    session: Session, start: datetime, end: datetime, line: str | None
) -> Counter[tuple[date, str, str, str]]:
    """(day, line, figure, key) -> count, from the calls started in [start, end)."""
    day = _day(session, Call.started_at)
    scoped = [_in(Call.started_at, Period(start, end)), _real_call()]
    if line:
        scoped.append(Call.line == line)
    counts: Counter[tuple[date, str, str, str]] = Counter()

    answered = (
        select(CallEvent.call_id, CallEvent.step, day.label("day"), Call.line)
        .join(Call, Call.id == CallEvent.call_id)
        .where(*scoped)
    )
    abandoned = Call.outcome == "abandoned"
    hung_up_at = select(Call.id, Call.abandoned_step, day, Call.line).where(abandoned, *scoped)
    queued = select(Call.id, Call.step, day, Call.line).where(Call.queued_at.is_not(None), *scoped)
    visits = union(answered, hung_up_at, queued).subquery()  # UNION: once per call and step
    group = (visits.c.day, visits.c.line, visits.c.step)
    for visit_day, visit_line, step, n in session.execute(
        select(*group, func.count()).where(visits.c.step.is_not(None)).group_by(*group)
    ):
        counts[(_as_date(visit_day), visit_line, REACHED, step)] += n

    for call_day, call_line, outcome, step, n in session.execute(
        select(day, Call.line, Call.outcome, Call.abandoned_step, func.count())
        .where(*scoped)
        .group_by(day, Call.line, Call.outcome, Call.abandoned_step)
    ):
        key = f"{outcome or ''}:{step or ''}" if outcome == "abandoned" else f"{outcome or ''}:"
        counts[(_as_date(call_day), call_line, OUTCOME, key)] += n

    seconds = Call.queue_seconds
    step = case(
        *((seconds < below, seconds - seconds % size) for below, size in WAIT_STEPS),
        else_=seconds - seconds % WAIT_STEP_BEYOND,
    )
    was_answered = Call.outcome == "answered"
    for wait_day, wait_line, wait, answered_call, n in session.execute(
        select(day, Call.line, step, was_answered, func.count())
        .where(Call.queued_at.is_not(None), seconds.is_not(None), *scoped)
        .group_by(day, Call.line, step, was_answered)
    ):
        counts[(_as_date(wait_day), wait_line, WAIT_ALL, str(wait))] += n
        if answered_call:
            counts[(_as_date(wait_day), wait_line, WAIT_ANSWERED, str(wait))] += n
    return counts


def _reports(session: Session, period: Period, result: Figures) -> None:
    created = session.execute(
        select(Report.origin, func.count())
        .where(_in(Report.created_at, period), _not_from_test_call())
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
                _not_from_test_call(),
            )
        )
        or 0
    )


def _disseminations(session: Session, period: Period, result: Figures) -> None:
    """The pieces passed in the period: by force and what the force did, and by the
    report's categories (a JSON list, each category once: a report in two counts in each)."""
    passed = [
        Dissemination.state == "delivered",
        _in(Dissemination.delivered_at, period),
        _not_from_test_call(),
    ]
    by_force: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for force_id, outcome, count in session.execute(
        select(Dissemination.force_id, Dissemination.force_outcome, func.count())
        .join(Report, Report.id == Dissemination.report_id)
        .where(*passed)
        .group_by(Dissemination.force_id, Dissemination.force_outcome)
    ):
        by_force[force_id] += count
        outcomes[outcome or "not_reported"] += count
    result.passed_by_force = dict(by_force)
    result.force_outcomes = dict(outcomes)

    if session.get_bind().dialect.name == "postgresql":
        each = func.json_array_elements_text(Report.categories).table_valued("value").lateral()
    else:
        each = func.json_each(Report.categories).table_valued("value")
    category = func.coalesce(each.c.value, "unknown")
    result.passed_by_category = {
        str(name): int(count)
        for name, count in session.execute(
            select(category, func.count())
            .select_from(Dissemination)
            .join(Report, Report.id == Dissemination.report_id)
            .outerjoin(each, true())
            .where(*passed)
            .group_by(category)
        )
    }

    awaiting = session.execute(
        select(Dissemination.force_id, func.count())
        .join(Report, Report.id == Dissemination.report_id)
        .where(
            Dissemination.state == "pending",
            _in(Dissemination.created_at, period),
            _not_from_test_call(),
        )
        .group_by(Dissemination.force_id)
    ).all()
    result.awaiting_by_force = {force_id: int(count) for force_id, count in awaiting}


def _in(column, period: Period):  # type: ignore[no-untyped-def]
    return and_(column >= period.start, column < period.end)


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


def _not_from_test_call():  # type: ignore[no-untyped-def]
    """For a statement over Report: not made from a test call. Test calls are
    few and have a partial index (ix_calls_test), so this is one small lookup."""
    # `WHERE is_test`, word for word the partial index's predicate, so it is used.
    test_calls = select(Call.id).where(Call.is_test)
    return or_(Report.call_id.is_(None), Report.call_id.not_in(test_calls))
