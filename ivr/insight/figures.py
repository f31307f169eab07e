"""The line's figures over a period: calls and how they went, reports, what was
passed to which force, waiting times and the IVR funnel. Counting only: this
module reads and never writes (the CSV is figures_csv.py, the daily roll-up
that writes is roll_up.py).

Every figure leaves out test calls (`Call.is_test`) and reports made from them.
A period is half-open, [start, end), in UTC (ivr/insight/period.py). The
queries are in ivr/insight/figure_queries.py; each figure is counted by the
moment that defines it:

- calls, outcomes, waiting times and the funnel: when the call started;
- online reports and reports from calls: when the report was created;
- reports approved: when a supervisor approved it (`reviewed_at`);
- intelligence passed (disseminations): when the force acknowledged it
  (`delivered_at`); awaiting delivery: written to the outbox in the period and
  not acknowledged yet.

Call figures (outcomes, waiting times, the funnel) are counted once per
settled day into FigureDay (ivr/models/figures.py) by the roll-up, and summed
from there: a year is a few hundred small rows per day instead of half a
million calls and millions of step events, and the counts outlive the step
events, which `ivr purge` erases after the retention period (it rolls up
first). What is not settled yet (the last day or two), a settled day the
roll-up has not reached yet, and part-days at either end of a period are
counted from the calls themselves (ivr/insight/day_counts.py). Reports and
deliveries are few (one call in tens makes a report) and are counted directly.

Waiting times are kept as a histogram: in 5-second steps under a minute, in
10-second steps to ten minutes, in minutes to an hour, in 10-minute steps
beyond; the median and 90th percentile are the nearest rank (PostgreSQL's
percentile_disc) over it, so they are exact to that step.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from ivr.insight.day_counts import OUTCOME, REACHED, WAIT_ALL, WAIT_ANSWERED
from ivr.insight.figure_queries import (
    awaiting_by_force,
    call_counts,
    outcomes_passed,
    passed_by_category,
    passed_by_force,
    reports_approved,
    reports_by_origin,
)
from ivr.insight.period import Period
from ivr.models import CallOutcome, ForceOutcome, ReportOrigin

# What a force can tell us it did with a piece of intelligence (ivr/records/force_outcomes.py).
FORCE_OUTCOMES = {
    ForceOutcome.INVESTIGATION: "Investigation opened",
    ForceOutcome.PASSED_TO_OTHER_FORCE: "Passed to another force",
    ForceOutcome.NO_FURTHER_ACTION: "No further action",
    ForceOutcome.SAFEGUARDING: "Safeguarding action",
    ForceOutcome.RECORDED: "Recorded for future investigations",
}


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
    outcomes = outcomes_passed(session, period, force)
    if counted is None:
        counted = Figures(period)
        _outcomes(call_counts(session, period), counted)
        _reports(session, period, counted)
    return AnnouncementFigures(
        calls=counted.calls,
        online_reports=counted.online_reports,
        intelligence_passed=sum(outcomes.values()),
        investigations=outcomes.get(ForceOutcome.INVESTIGATION, 0),
        passed_to_other_forces=outcomes.get(ForceOutcome.PASSED_TO_OTHER_FORCE, 0),
    )


def nearest_rank(histogram: list[tuple[int, int]], fraction: float) -> int | None:
    """Over a histogram of (value, how many), in order of value: the smallest value
    with at least `fraction` of the values at or below it (PostgreSQL's percentile_disc)."""
    total = sum(count for _value, count in histogram)
    if not total:
        return None
    wanted, seen = max(math.ceil(fraction * total), 1), 0
    for value, count in histogram:
        seen += count
        if seen >= wanted:
            return value
    return histogram[-1][0]


# ---------------------------------------------------------------- the parts
def _outcomes(counts: Counter[tuple[str, str]], result: Figures) -> None:
    for (figure, key), count in counts.items():
        if figure != OUTCOME or not count:
            continue
        outcome, _, step = key.partition(":")
        result.calls += count
        if outcome == CallOutcome.ABANDONED:
            result.abandoned += count
            step = step or "unknown"
            result.abandoned_by_step[step] = result.abandoned_by_step.get(step, 0) + count
        elif outcome == CallOutcome.ANSWERED:
            result.answered += count
        elif outcome == CallOutcome.LEFT_QUEUE:
            result.left_queue += count
        elif outcome == CallOutcome.LEFT_FOR_ONLINE:
            result.left_for_online += count
        elif outcome == CallOutcome.FAILED:
            result.failed += count
        elif outcome == CallOutcome.CLOSED:
            result.closed += count
        elif outcome == CallOutcome.NO_HANDLER:
            result.no_handler += count
        else:
            result.in_progress += count


def _waiting(counts: Counter[tuple[str, str]], figure: str) -> Waiting:
    histogram = sorted((int(key), n) for (f, key), n in counts.items() if f == figure and n)
    total = sum(n for _seconds, n in histogram)
    return Waiting(total, nearest_rank(histogram, 0.5), nearest_rank(histogram, 0.9))


def _funnel(counts: Counter[tuple[str, str]], step_order: list[str] | None) -> list[FunnelStep]:
    """For each step: how many callers reached it and how many hung up there.

    A caller reached a step when they answered it (a CallEvent there), hung up
    while at it (`abandoned_step`) or, for the queue, were queued; a caller who
    answered a step twice counts once. Message steps are passed through and
    count towards the step after them. Steps come in `step_order`, then any
    other by how many reached it.
    """
    reached = {key: n for (figure, key), n in counts.items() if figure == REACHED and n}
    hung_up: Counter[str] = Counter()
    for (figure, key), n in counts.items():
        outcome, _, step = key.partition(":")
        if figure == OUTCOME and outcome == CallOutcome.ABANDONED and step:
            hung_up[step] += n
    steps = [s for s in step_order or [] if s in reached]
    others = [s for s in reached if s not in steps]
    steps += sorted(others, key=lambda s: -reached[s])
    return [FunnelStep(s, reached[s], hung_up[s]) for s in steps]


def _reports(session: Session, period: Period, result: Figures) -> None:
    by_origin = reports_by_origin(session, period)
    result.online_reports = by_origin.get(ReportOrigin.ONLINE, 0)
    result.call_reports = by_origin.get(ReportOrigin.CALL, 0)
    result.reports_approved = reports_approved(session, period)


def _disseminations(session: Session, period: Period, result: Figures) -> None:
    """The pieces passed in the period: by force, by what the force did, by category;
    and the deliveries still awaited."""
    by_force: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for force_id, outcome, count in passed_by_force(session, period):
        by_force[force_id] += count
        outcomes[outcome or "not_reported"] += count
    result.passed_by_force = dict(by_force)
    result.force_outcomes = dict(outcomes)
    result.passed_by_category = passed_by_category(session, period)
    result.awaiting_by_force = awaiting_by_force(session, period)
