"""Is anyone there to answer? Outside a line's opening hours, or when no handler is
available, a caller is told so at once (before the menus), and a caller already in the
queue is told at the next wait message, never left holding for nobody.

Also how long callers have waited lately, for the wait message: the median wait of
the calls answered in the last hour, said only when there are enough of them to mean
something. Reads models only (through ivr/core/availability.py), never staff code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from ivr.core.availability import answerers_available
from ivr.core.settings import Settings
from ivr.models import Call, CallOutcome, utcnow
from ivr.voice.flows.catalogue import Flow

CLOSED, NOBODY = CallOutcome.CLOSED, CallOutcome.NO_HANDLER  # also the call's outcome
# Ended calls keep their times to the hour (ivr/voice/call_end.py): "lately" is the
# calls that started this hour or the one before.
RECENT = timedelta(hours=1)
ENOUGH_CALLS = 3  # fewer answered calls in the last hour say nothing honest about a wait


def now() -> datetime:
    """The clock (tests move it)."""
    return utcnow()


def why_nobody_answers(
    session: Session | Connection, flow: Flow, settings: Settings, at: datetime | None = None
) -> CallOutcome | None:
    """CLOSED, NOBODY, or None when someone can answer, `at` a moment (now by default).
    A request that says more about the moment (when the line opens again) reads the
    clock once and gives it here: read twice, the clock can disagree with itself."""
    if not settings.check_staffing:
        return None
    moment = at or now()
    if flow.hours is not None and not flow.hours.is_open(moment):
        return CLOSED
    idle = timedelta(minutes=settings.session_idle_minutes)
    if answerers_available(session, moment, idle) == 0:
        return NOBODY
    return None


# Built once, `since` bound at execution: the wait URL asks it for every queued caller.
_RECENT_WAITS = (
    select(Call.queued_at, Call.answered_at, Call.queue_seconds)
    .where(
        Call.started_at >= bindparam("since", type_=Call.started_at.type),
        Call.answered_at.is_not(None),
        Call.queued_at.is_not(None),
        Call.is_test.is_(False),
    )
    .order_by(Call.started_at.desc())
    .limit(200)
)


def recent_wait_seconds(session: Session | Connection) -> float | None:
    """The median wait of real calls answered lately, if there were enough: an ended
    call's wait as the figures keep it (`queue_seconds`), a live one's from its times."""
    since = now().replace(minute=0, second=0, microsecond=0) - RECENT
    rows = session.execute(_RECENT_WAITS, {"since": since}).all()
    # The query keeps only rows with both times (is_not(None) above).
    waits = [
        float(seconds) if seconds is not None else (answered - queued).total_seconds()
        for queued, answered, seconds in rows
        if queued is not None and answered is not None
    ]
    if len(waits) < ENOUGH_CALLS:
        return None
    return max(0.0, median(waits))
