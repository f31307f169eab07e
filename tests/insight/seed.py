"""A small, hand-made set of calls, reports and deliveries whose figures are
worked out by hand in the tests (tests/test_call_log.py, tests/test_figures.py).

November 2026 holds eight real calls (c1–c6, c9, c10), one test call (c7, and
its report) and, outside it, c8 in October. Each call's steps are listed as
(step, outcome) in the order the caller answered them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.models import Call, CallEvent, Dissemination, Report

STEP_ORDER = [
    "force",
    "force_confirm",
    "force_london_south_east",
    "force_wales",
    "role",
    "category",
    "risk",
    "anonymity",
    "contact_number",
    "contact_confirm",
    "queue",
]


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


KEYPAD_KENT = [
    ("force", "chose"),
    ("force_london_south_east", "chose"),
    ("role", "chose"),
    ("category", "chose"),
    ("risk", "chose"),
    ("anonymity", "chose"),
]

CALLS: dict[str, dict[str, Any]] = {
    "c1": dict(
        started_at=at(11, 10, 9),
        force="kent",
        role="officer",
        category="bribery",
        anonymous=True,
        outcome="answered",
        queue_seconds=30,
        events=KEYPAD_KENT,
    ),
    "c2": dict(
        started_at=at(11, 11, 10),
        line="welsh",
        language="cy",
        force="dyfed-powys",
        role="staff",
        category="sexual",
        urgent=True,
        anonymous=False,
        outcome="left_queue",
        queue_seconds=200,
        events=[
            ("force", "chose"),
            ("force_wales", "chose"),
            ("role", "chose"),
            ("category", "chose"),
            ("risk", "chose"),
            ("anonymity", "chose"),
            ("contact_number", "entered"),
            ("contact_confirm", "confirmed"),
        ],
    ),
    "c3": dict(
        started_at=at(11, 12, 11),
        force="metropolitan",
        outcome="abandoned",
        abandoned_step="role",
        events=[("force", "chose"), ("force_london_south_east", "chose")],
    ),
    "c4": dict(started_at=at(11, 13, 12), outcome="abandoned", abandoned_step="force", events=[]),
    "c5": dict(
        started_at=at(11, 14, 13),
        force="metropolitan",
        role="officer",
        category="domestic_abuse",
        anonymous=True,
        outcome="answered",
        queue_seconds=90,
        events=[
            ("force", "heard"),
            ("force_confirm", "confirmed"),
            ("role", "chose"),
            ("category", "chose"),
            ("risk", "chose"),
            ("anonymity", "chose"),
        ],
    ),
    # The same start as c5, to the microsecond: pages must not lose or repeat either.
    "c6": dict(
        started_at=at(11, 14, 13),
        force="kent",
        role="volunteer",
        category="bribery",
        anonymous=True,
        outcome="left_for_online",
        queue_seconds=400,
        events=KEYPAD_KENT,
    ),
    "c7": dict(
        started_at=at(11, 15, 9),
        is_test=True,
        force="kent",
        role="officer",
        category="bribery",
        anonymous=True,
        outcome="answered",
        queue_seconds=5,
        events=KEYPAD_KENT,
    ),
    "c8": dict(
        started_at=at(10, 20, 8),
        force="kent",
        role="officer",
        category="bribery",
        anonymous=True,
        outcome="answered",
        queue_seconds=60,
        events=KEYPAD_KENT,
    ),
    "c9": dict(
        started_at=at(11, 20, 14),
        force="kent",
        role="officer",
        category="personal_advantage",
        anonymous=True,
        status="queued",
        outcome=None,
        queue_seconds=None,
        events=[("force", "invalid"), *KEYPAD_KENT],
    ),
    "c10": dict(
        started_at=at(11, 21, 15),
        force="metropolitan",
        outcome="abandoned",
        abandoned_step="category",
        events=[
            ("force", "heard"),
            ("force_confirm", "confirmed"),
            ("role", "invalid"),
            ("role", "chose"),
        ],
    ),
}


def add_call(session: Session, name: str, spec: dict[str, Any]) -> Call:
    spec = dict(spec)
    events = spec.pop("events")
    outcome = spec.get("outcome")
    queued = outcome in ("answered", "left_queue", "left_for_online") or spec.get("status") == (
        "queued"
    )
    started = spec["started_at"]
    final_step = "queue" if queued else spec.get("abandoned_step") or "force"
    call = Call(
        # Ids in the order the calls are added, as a sequence would give them (the app
        # draws them at random): calls of the same moment keep the order worked out here.
        id=session.scalar(select(func.coalesce(func.max(Call.id), 0))) + 1,
        call_key=f"key-{name}",
        line=spec.pop("line", "helpline"),
        language=spec.pop("language", "en"),
        step=final_step,
        status=spec.pop("status", "ended"),
        urgent=spec.pop("urgent", False),
        is_test=spec.pop("is_test", False),
        queued_at=started + timedelta(minutes=2) if queued else None,
        answered_at=started + timedelta(minutes=3) if outcome == "answered" else None,
        ended_at=None if outcome is None else started + timedelta(minutes=9),
        **spec,
    )
    session.add(call)
    session.flush()
    for seq, (step, what) in enumerate(events):
        session.add(
            CallEvent(
                call_id=call.id,
                seq=seq,
                step=step,
                outcome=what,
                value="kent" if what == "chose" and step.startswith("force_") else None,
                at=started + timedelta(seconds=10 * (seq + 1)),
            )
        )
    return call


def add_report(
    session: Session,
    reference: str,
    created: datetime,
    *,
    call: Call | None = None,
    status: str = "approved",
    reviewed: datetime | None = None,
    categories: tuple[str, ...] = ("bribery",),
) -> Report:
    report = Report(
        reference=reference,
        origin="call" if call is not None else "online",
        call_id=call.id if call is not None else None,
        status=status,
        created_at=created,
        updated_at=created,
        reviewed_at=reviewed,
        categories=list(categories),
    )
    session.add(report)
    session.flush()
    return report


def add_delivery(
    session: Session,
    report: Report,
    force: str,
    created: datetime,
    delivered: datetime | None,
    force_outcome: str | None = None,
) -> Dissemination:
    row = Dissemination(
        report_id=report.id,
        force_id=force,
        channel="https",
        destination=f"{force} PSD",
        idempotency_key=f"{report.reference}-{force}",
        state="delivered" if delivered else "pending",
        created_at=created,
        next_attempt_at=created,
        delivered_at=delivered,
        force_outcome=force_outcome,
    )
    session.add(row)
    return row


def seed(session: Session) -> dict[str, int]:
    """Write the set; returns the calls' ids by name."""
    calls = {name: add_call(session, name, spec) for name, spec in CALLS.items()}
    r1 = add_report(session, "R1", at(11, 10, 10), call=calls["c1"], reviewed=at(11, 12))
    add_delivery(session, r1, "kent", at(11, 12), at(11, 13), "investigation")
    r5 = add_report(
        session,
        "R5",
        at(11, 14, 14),
        call=calls["c5"],
        reviewed=at(11, 14, 18),
        categories=("domestic_abuse",),
        status="disseminated",
    )
    add_delivery(session, r5, "metropolitan", at(11, 14, 18), at(11, 15), "passed_to_other_force")
    online1 = add_report(
        session,
        "O1",
        at(11, 15),
        reviewed=at(11, 15, 16),
        categories=("sexual", "discrimination"),
    )
    add_delivery(session, online1, "metropolitan", at(11, 15, 16), at(11, 16))
    add_report(session, "O2", at(11, 16), status="submitted")
    online3 = add_report(session, "O3", at(11, 18), reviewed=at(11, 20))
    add_delivery(session, online3, "kent", at(11, 20), None)
    # The test call's report, approved and delivered: counted nowhere.
    r7 = add_report(session, "R7", at(11, 15, 10), call=calls["c7"], reviewed=at(11, 15, 11))
    add_delivery(session, r7, "kent", at(11, 15, 11), at(11, 15, 12), "investigation")
    # October: outside the period.
    r8 = add_report(session, "R8", at(10, 20, 9), call=calls["c8"], reviewed=at(10, 21))
    add_delivery(session, r8, "kent", at(10, 21), at(10, 22), "investigation")
    session.commit()
    return {name: call.id for name, call in calls.items()}
