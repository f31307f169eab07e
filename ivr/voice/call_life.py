"""A call's life: every move of its status, and nowhere else.

    in_flow --(reaches a queue step)--> queued --(a handler takes it)--> answered
                                          ^                                 |
                                          +---(the handler's phone failed)--+
    any status --(Twilio's final status callback)--> ended

The moves between queued and answered are conditional UPDATEs (only if the call is
still where the move starts), so the database decides between two workers or two
handlers acting at once, on SQLite and PostgreSQL alike. Callers: the call flow's
moves (queued), taking (answered, back to queued), the handler's leg (back to queued)
and the webhooks (leaving the queue, ended). Ending a call also forgets what could
match it to the phone company's record (ivr/voice/call_end.py).
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from ivr.models import Call, CallOutcome, CallStatus, utcnow
from ivr.voice import call_end

# Twilio's CallStatus values that say the call is over.
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def start(call: Call) -> None:
    """A new call: in the flow (the call flow's moves put it at its first step)."""
    call.status = CallStatus.IN_FLOW


def enqueue(call: Call) -> None:
    """The caller reached the queue: from now on they wait for a handler. A call that
    is queued or answered already keeps its place (queued_at) and its status."""
    if call.status == CallStatus.IN_FLOW:
        call.status = CallStatus.QUEUED
        call.queued_at = utcnow()


def answer(session: Session, call_id: int, handler_id: int) -> bool:
    """True if this handler now has the call; False if someone else took it (or it ended).
    Commits, so the claim is visible to every other worker at once."""
    result = session.execute(
        update(Call)
        .where(Call.id == call_id, Call.status == CallStatus.QUEUED)
        .values(status=CallStatus.ANSWERED, handler_id=handler_id, answered_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]  # a CursorResult for an UPDATE


def release(session: Session, call_id: int, handler_id: int) -> bool:
    """Give a call back to the queue, ahead of later callers (queued_at is kept): the
    handler's phone could not be rung, or did not answer. Only the handler who has the
    call releases it: a late or repeated report about an earlier handler's phone must not
    take the call away from the handler who has it now. True if the call went back.
    Commits."""
    result = session.execute(
        update(Call)
        .where(
            Call.id == call_id, Call.status == CallStatus.ANSWERED, Call.handler_id == handler_id
        )
        .values(status=CallStatus.QUEUED, handler_id=None, answered_at=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]  # a CursorResult for an UPDATE


def leave_queue(call: Call, queue_result: str, queue_seconds: int | None) -> None:
    """What Twilio says happened to the caller's place in the queue (the Enqueue action):
    how the wait ended, recorded as the call's outcome. The status moves when the call
    ends (`end`)."""
    call.queue_seconds = queue_seconds
    if queue_result == "leave" and call.outcome != CallOutcome.NO_HANDLER:
        call.outcome = CallOutcome.LEFT_FOR_ONLINE
    elif queue_result == "hangup" and call.status == CallStatus.QUEUED:
        call.outcome = CallOutcome.LEFT_QUEUE
    elif queue_result == "bridged":
        call.outcome = CallOutcome.ANSWERED


def end(session: Session, call: Call, twilio_status: str, duration_seconds: int | None) -> bool:
    """The call is over: its outcome as it stood, and nothing left that could join our
    record to the phone company's (ivr/voice/call_end.py). False (and nothing changed)
    for a status that is not final, or a call already ended: status callbacks come late
    and twice. The caller commits."""
    if twilio_status not in FINAL_STATUSES or call.ended_at is not None:
        return False
    call_end.end(session, call, twilio_status, duration_seconds)
    return True
