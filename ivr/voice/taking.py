"""Taking a caller out of the queue: one handler per caller, whatever the timing.

The claim is one conditional UPDATE (queued -> answered, only if still queued):
the database decides which of two simultaneous takes wins, on SQLite and
PostgreSQL alike. Only the winner asks Twilio to ring their phone.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.models import Call, CallStatus, utcnow

# Real callers before test calls (the console's, see ivr/voice/marked_calls.py), then urgent
# first, then the longest wait: a test call never keeps a real caller waiting.
QUEUE_ORDER = (Call.is_test.asc(), Call.urgent.desc(), Call.queued_at.asc(), Call.id.asc())


def waiting_calls(session: Session, limit: int = 200) -> list[Call]:
    """Callers waiting now: urgent first, then the longest wait."""
    query = select(Call).where(Call.status == CallStatus.QUEUED).order_by(*QUEUE_ORDER).limit(limit)
    return list(session.scalars(query))


def next_waiting_id(session: Session) -> int | None:
    query = select(Call.id).where(Call.status == CallStatus.QUEUED).order_by(*QUEUE_ORDER).limit(1)
    return session.scalar(query)


def claim(session: Session, call_id: int, handler_id: int) -> bool:
    """True if this handler now has the call; False if someone else took it (or it ended).
    Commits, so the claim is visible to every other worker at once."""
    result = session.execute(
        update(Call)
        .where(Call.id == call_id, Call.status == CallStatus.QUEUED)
        .values(status=CallStatus.ANSWERED, handler_id=handler_id, answered_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]  # an UPDATE/DELETE's result is a CursorResult


def release(session: Session, call_id: int, handler_id: int) -> None:
    """Give a claimed call back to the queue (Twilio could not ring the handler)."""
    session.execute(
        update(Call)
        .where(
            Call.id == call_id, Call.status == CallStatus.ANSWERED, Call.handler_id == handler_id
        )
        .values(status=CallStatus.QUEUED, handler_id=None, answered_at=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()
