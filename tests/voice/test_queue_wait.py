"""The wait before a handler answered, as the figures count it, through the webhooks:
Twilio's QueueTime says 0 for a caller taken out of the queue by a redirect (a handler
answering from the console), so the wait is taken from our own clock then
(ivr/voice/call_end.py queue_wait)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.insight.figures import Waiting, figures
from ivr.insight.period import Period
from ivr.models import Call, utcnow
from ivr.voice import call_life
from tests.conftest import walk
from tests.console_helpers import add_user


def _queue(new_call, stored_call, app, waited: int):  # type: ignore[no-untyped-def]
    """A caller walked to the queue, who joined it `waited` seconds ago."""
    call = new_call()
    twiml = walk(call)  # the Met, not urgent, anonymous
    assert twiml.find("Enqueue") is not None
    row = stored_call(call)
    with Session(get_engine(app)) as session:
        session.execute(
            update(Call)
            .where(Call.id == row.id)
            .values(queued_at=utcnow() - timedelta(seconds=waited))
        )
        session.commit()
    return call, row.id


def _today(app):  # type: ignore[no-untyped-def]
    """The figures around now (the test's calls are the only calls): not today's UTC day,
    which a call made a moment before midnight is not in once the clock has passed it."""
    now = utcnow()
    with Session(get_engine(app)) as session:
        return figures(session, Period(now - timedelta(days=1), now + timedelta(days=1)))


def test_a_caller_a_handler_took_from_the_queue_waited_until_answered(app, new_call, stored_call):
    call, call_id = _queue(new_call, stored_call, app, waited=95)
    handler = add_user(app, "hana", "handler")
    with Session(get_engine(app)) as session:
        assert call_life.answer(session, call_id, handler)
    call.leave_queue("redirected", queue_time=0)  # what Twilio sends after the redirect
    call.hang_up(duration=400)
    result = _today(app)
    assert result.answered == 1
    assert result.waiting_answered == Waiting(1, 90, 90)  # 95 s, in the histogram's steps
    assert result.waiting_all == Waiting(1, 90, 90)


def test_twilio_queue_time_is_kept_when_it_has_one(app, new_call, stored_call):
    call, _ = _queue(new_call, stored_call, app, waited=95)
    call.leave_queue("hangup", queue_time=42)
    call.hang_up()
    assert _today(app).waiting_all == Waiting(1, 40, 40)


def test_a_queue_time_missing_is_taken_from_our_clock(app, new_call, stored_call):
    call, _ = _queue(new_call, stored_call, app, waited=95)
    call.leave_queue("hangup", queue_time=0)
    call.hang_up()
    assert _today(app).waiting_all == Waiting(1, 90, 90)
