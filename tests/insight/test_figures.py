"""Each figure, worked out by hand from tests/insight_seed.py for November 2026."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, func, literal, select, update

from ivr.insight.day_counts import settled_days_end, wait_step
from ivr.insight.figures import (
    FunnelStep,
    Waiting,
    announcement_figures,
    figures,
    nearest_rank,
)
from ivr.insight.figures_csv import csv_text
from ivr.insight.period import Period
from ivr.insight.roll_up import roll_up
from ivr.models import AuditEntry, Call, CallEvent, Dissemination, FigureDay, User
from ivr.records.force_outcomes import OutcomeRefused, record_force_outcome
from ivr.records.retention import purge
from tests.insight.seed import STEP_ORDER, at

NOVEMBER = Period.of_days(date(2026, 11, 1), date(2026, 11, 30))
# Counted from the events (November not settled), from FigureDay (all settled), and both
# (c9 on the 20th and c10 on the 21st not settled on the 21st).
NOWS = [at(11, 1, 0), datetime(2027, 1, 1, tzinfo=UTC), at(11, 21, 8)]


def test_period_of_days_is_half_open_utc():
    assert NOVEMBER.start == at(11, 1, 0) and NOVEMBER.end == at(12, 1, 0)
    assert str(NOVEMBER) == "2026-11-01 to 2026-11-30"


@pytest.mark.parametrize("now", NOWS)
def test_calls_and_how_they_went(db, seeded, now):
    f = figures(db, NOVEMBER, step_order=STEP_ORDER, now=now)
    # c1 c2 c3 c4 c5 c6 c9 c10; not the test call c7, not October's c8.
    assert f.calls == 8
    assert (f.answered, f.abandoned, f.left_queue, f.left_for_online) == (2, 3, 1, 1)
    assert (f.failed, f.in_progress, f.queued_and_left) == (0, 1, 2)
    assert f.abandoned_by_step == {"force": 1, "role": 1, "category": 1}


@pytest.mark.parametrize("now", NOWS)
def test_waiting_times(db, seeded, now):
    f = figures(db, NOVEMBER, now=now)
    # Queued with a time: c1 30, c5 90, c2 200, c6 400 (c9 still queued: no time yet).
    assert f.waiting_all == Waiting(4, 90, 400)
    # Answered: c1 30, c5 90.
    assert f.waiting_answered == Waiting(2, 30, 90)


def test_reports(db, seeded):
    f = figures(db, NOVEMBER)
    assert f.online_reports == 3  # O1 O2 O3
    assert f.call_reports == 2  # R1 R5 (R7 is the test call's, R8 October's)
    assert f.reports_approved == 4  # R1 R5 O1 O3 (O2 only submitted)


def test_intelligence_passed_by_force_category_and_what_forces_did(db, seeded):
    f = figures(db, NOVEMBER)
    assert f.passed_by_force == {"kent": 1, "metropolitan": 2}  # R1; R5 and O1
    assert f.intelligence_passed == 3
    # O1 is in two categories and counts in each.
    assert f.passed_by_category == {
        "bribery": 1,
        "domestic_abuse": 1,
        "sexual": 1,
        "discrimination": 1,
    }
    assert f.awaiting_by_force == {"kent": 1}  # O3
    assert f.force_outcomes == {
        "investigation": 1,
        "passed_to_other_force": 1,
        "not_reported": 1,
    }


NOVEMBER_FUNNEL = [
    FunnelStep("force", 8, 1),  # c4 hung up before answering
    FunnelStep("force_confirm", 2, 0),  # c5 c10 said a name
    FunnelStep("force_london_south_east", 4, 0),  # c1 c3 c6 c9
    FunnelStep("force_wales", 1, 0),
    FunnelStep("role", 7, 1),  # c10 tried twice: counted once; c3 hung up
    FunnelStep("category", 6, 1),  # c10 hung up
    FunnelStep("risk", 5, 0),
    FunnelStep("anonymity", 5, 0),
    FunnelStep("contact_number", 1, 0),
    FunnelStep("contact_confirm", 1, 0),
    FunnelStep("queue", 5, 0),  # c1 c2 c5 c6 c9
]


@pytest.mark.parametrize("now", NOWS)
def test_funnel_reached_and_hung_up(db, seeded, now):
    assert figures(db, NOVEMBER, step_order=STEP_ORDER, now=now).funnel == NOVEMBER_FUNNEL


@pytest.mark.parametrize("now", NOWS)
def test_funnel_over_part_days(db, seeded, now):
    # From 11:00 on the 12th (c3 at 11:00 is in) to 13:00 on the 14th (c5, c6 at 13:00 are out).
    period = Period(at(11, 12, 11), at(11, 14, 13))
    assert figures(db, period, step_order=STEP_ORDER, now=now).funnel == [
        FunnelStep("force", 2, 1),
        FunnelStep("force_london_south_east", 1, 0),
        FunnelStep("role", 1, 1),
    ]


def test_the_funnel_outlives_the_purge_of_step_events(db, seeded):
    later = datetime(2027, 6, 1, tzinfo=UTC)
    assert roll_up(db, date(2026, 1, 1), settled_days_end(later)) > 0
    days = db.scalar(select(func.count()).select_from(FigureDay))
    assert roll_up(db, date(2026, 1, 1), settled_days_end(later)) == 0  # counted once
    assert db.scalar(select(func.count()).select_from(FigureDay)) == days
    db.execute(delete(CallEvent))
    db.commit()
    assert figures(db, NOVEMBER, step_order=STEP_ORDER, now=later).funnel == NOVEMBER_FUNNEL
    # Counted from the events instead, the answers are gone: only hang-ups and the queue.
    live = figures(db, NOVEMBER, step_order=STEP_ORDER, now=at(11, 1, 0)).funnel
    assert live == [
        FunnelStep("force", 1, 1),
        FunnelStep("role", 1, 1),
        FunnelStep("category", 1, 1),
        FunnelStep("queue", 5, 0),
    ]


def test_purge_counts_the_funnel_before_erasing_events(db, seeded):
    later = datetime(2027, 6, 1, tzinfo=UTC)
    purged = purge(db, call_days=90, contact_days=365, now=later)
    assert purged.events > 0
    assert figures(db, NOVEMBER, step_order=STEP_ORDER, now=later).funnel == NOVEMBER_FUNNEL


def test_funnel_without_an_order_puts_the_most_reached_first(db, seeded):
    steps = figures(db, NOVEMBER).funnel
    assert steps[0] == FunnelStep("force", 8, 1)
    assert [s.reached for s in steps] == sorted((s.reached for s in steps), reverse=True)


@pytest.mark.parametrize("now", NOWS)
def test_one_line(db, seeded, now):
    f = figures(db, NOVEMBER, line="welsh", step_order=STEP_ORDER, now=now)
    assert (f.calls, f.left_queue, f.abandoned) == (1, 1, 0)
    assert f.waiting_all == Waiting(1, 200, 200)
    welsh_steps = [s for s in STEP_ORDER if s not in ("force_confirm", "force_london_south_east")]
    assert f.funnel == [FunnelStep(step, 1, 0) for step in welsh_steps]


def test_an_empty_period(db, seeded):
    f = figures(db, Period.of_days(date(2025, 1, 1), date(2025, 1, 31)))
    assert (f.calls, f.intelligence_passed, f.funnel) == (0, 0, [])
    assert f.waiting_all == Waiting(0, None, None)


def test_announcement_figures(db, seeded):
    national = announcement_figures(db, NOVEMBER)
    assert (
        national.calls,
        national.online_reports,
        national.intelligence_passed,
        national.investigations,
        national.passed_to_other_forces,
    ) == (8, 3, 3, 1, 1)
    met = announcement_figures(db, NOVEMBER, force="metropolitan")
    assert (met.intelligence_passed, met.investigations, met.passed_to_other_forces) == (2, 0, 1)
    october = announcement_figures(db, Period.of_days(date(2026, 10, 1), date(2026, 10, 31)))
    assert (october.calls, october.intelligence_passed, october.investigations) == (1, 1, 1)


def test_csv_has_every_figure(db, seeded):
    rows = list(csv.reader(io.StringIO(csv_text(figures(db, NOVEMBER, step_order=STEP_ORDER)))))
    assert rows[0] == ["figure", "breakdown", "value"]
    table = {(figure, breakdown): value for figure, breakdown, value in rows[1:]}
    assert table[("period", "")] == "2026-11-01 to 2026-11-30"
    assert table[("calls", "")] == "8"
    assert table[("intelligence_passed", "")] == "3"
    assert table[("waiting_seconds_all", "median")] == "90"
    assert table[("waiting_seconds_all", "p90")] == "400"
    assert table[("abandoned_at_step", "role")] == "1"
    assert table[("passed_by_force", "metropolitan")] == "2"
    assert table[("passed_by_category", "sexual")] == "1"
    assert table[("force_outcome", "investigation")] == "1"
    assert table[("funnel_reached", "queue")] == "5"
    assert table[("funnel_hung_up", "force")] == "1"


def test_waiting_times_are_kept_in_steps(db):
    seconds = (0, 59, 60, 69, 599, 600, 659, 3599, 3600, 4199, 4200)
    # The step is worked out in SQL, by the database that counts the calls.
    steps = [db.scalar(select(wait_step(literal(s)))) for s in seconds]
    assert steps == [0, 55, 60, 60, 590, 600, 600, 3540, 3600, 3600, 4200]


@pytest.mark.parametrize("now", NOWS)
def test_waiting_over_the_histogram(db, seeded, now):
    # c1 waited 30 s, c6 400 s; make c1 wait 125 s and c6 3,661 s: 120 and 3,600 in the steps.
    for key, seconds in (("key-c1", 125), ("key-c6", 3661)):
        db.execute(update(Call).where(Call.call_key == key).values(queue_seconds=seconds))
    db.commit()
    f = figures(db, NOVEMBER, now=now)
    assert f.waiting_all == Waiting(4, 120, 3600)  # 90, 120, 200, 3600
    assert f.waiting_answered == Waiting(2, 90, 120)  # c5 90, c1 120


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [([], 0.5, None), ([7], 0.9, 7), ([40, 10, 30, 20], 0.5, 20), ([1, 2, 3, 4, 5], 0.9, 5)],
)
def test_nearest_rank(values, fraction, expected):
    histogram = sorted(Counter(values).items())
    assert nearest_rank(histogram, fraction) == expected


def test_recording_what_a_force_did_is_audited_and_counted(db, seeded):
    supervisor = User(username="sup", password_hash="x", role="supervisor")
    handler = User(username="han", password_hash="x", role="handler")
    db.add_all([supervisor, handler])
    db.commit()
    o1 = db.query(Dissemination).filter_by(idempotency_key="O1-metropolitan").one()
    with pytest.raises(OutcomeRefused):
        record_force_outcome(db, o1, "investigation", handler)
    with pytest.raises(OutcomeRefused):
        record_force_outcome(db, o1, "nonsense", supervisor)
    pending = db.query(Dissemination).filter_by(idempotency_key="O3-kent").one()
    with pytest.raises(OutcomeRefused):
        record_force_outcome(db, pending, "investigation", supervisor)
    record_force_outcome(db, o1, "investigation", supervisor, note="PSD letter of 20 Nov")
    met = announcement_figures(db, NOVEMBER, force="metropolitan")
    assert (met.investigations, met.passed_to_other_forces) == (1, 1)
    entry = db.query(AuditEntry).filter_by(action="force_outcome").one()
    assert (entry.user_id, entry.record_type, entry.record_id) == (
        supervisor.id,
        "dissemination",
        str(o1.id),
    )
    assert entry.detail == {"outcome": "investigation", "previous": None, "force": "metropolitan"}
