"""What the database kept of a fault run's calls, by count: an ended call keeps nothing
that names it (ivr/voice/call_end.py), so calls are counted, not looked up."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import create_engine, func, select

from ivr.core.db import normalise_url
from ivr.models import Call, CallEvent
from ivr.sim.fault_calls import FaultRun


@dataclass
class Ledger:
    calls: int
    queued: int
    repeated_events: int


def snapshot(database_url: str) -> Ledger:
    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            calls = conn.scalar(select(func.count()).select_from(Call)) or 0
            queued = conn.scalar(select(func.count()).where(Call.queued_at.is_not(None))) or 0
            twice = (
                select(CallEvent.call_id)
                .group_by(CallEvent.call_id, CallEvent.seq)
                .having(func.count() > 1)
            )
            repeated = len(conn.execute(twice).all())
    finally:
        engine.dispose()
    return Ledger(calls, queued, repeated)


def lost_and_duplicated(before: Ledger, after: Ledger, run: FaultRun) -> tuple[int, int]:
    """Lost: fewer calls recorded than callers rang, or fewer queued than heard the
    queue's <Enqueue>. Duplicated: more calls recorded than callers, or one answer (a
    call's step number) recorded twice."""
    calls = after.calls - before.calls
    queued = after.queued - before.queued
    reached = sum(c.reached_queue for c in run.callers)
    lost = max(0, len(run.callers) - calls) + max(0, reached - queued)
    duplicated = max(0, calls - len(run.callers)) + (after.repeated_events - before.repeated_events)
    return lost, duplicated
