"""The sweep: ends calls whose end was never recorded.

Twilio does not retry a status callback. One that fails (the database away at that
moment) leaves its call `in_flow` or `queued` for ever, with its live CallSid kept,
and a `queued` call stays in the handlers' queue. The sweep ends every call with no
activity for a set time, as the status callback would have (`call_end.end`: the
outcome as it stood, and everything an ended call erases).

Activity: a caller in the menus writes a step event at every answer or silence (each
within a minute or so), so one idle for `in_flow_after` has gone. A caller waiting
in the queue or talking to a handler writes nothing while they do: such a call is
ended only after `other_after`, which is no shorter than Twilio's longest call (four
hours), so no live call is ever swept.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ivr.models import Call, CallEvent, CallStatus, utcnow
from ivr.voice import call_end

IN_FLOW_AFTER = timedelta(minutes=30)
OTHER_AFTER = timedelta(hours=4)


def sweep(
    session: Session,
    now: datetime | None = None,
    in_flow_after: timedelta = IN_FLOW_AFTER,
    other_after: timedelta = OTHER_AFTER,
) -> int:
    """End idle calls; how many were ended. Commits."""
    now = now or utcnow()
    last_event = (
        select(func.max(CallEvent.at)).where(CallEvent.call_id == Call.id).scalar_subquery()
    )
    last_activity = func.coalesce(last_event, Call.started_at)
    idle = select(Call).where(
        Call.ended_at.is_(None),
        or_(
            (Call.status == CallStatus.IN_FLOW)
            & (last_activity < now - in_flow_after)
            & (Call.started_at < now - in_flow_after),
            (Call.status != CallStatus.IN_FLOW) & (Call.started_at < now - other_after),
        ),
    )
    ended = 0
    for call in session.scalars(idle.with_for_update(skip_locked=True)):
        call_end.end(session, call, "completed", None)
        ended += 1
    session.commit()
    return ended
