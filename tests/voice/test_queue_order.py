"""The queue's order is written once: the place a waiting caller hears is their place in
the list handlers take callers from."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.models import Call, CallStatus, utcnow
from ivr.voice.taking import next_waiting_id, queue_position, waiting_calls


def test_a_callers_place_is_their_place_in_the_handlers_list(app):
    now = utcnow()
    # (is_test, urgent, minutes waiting); two share a minute, so the id decides.
    waiting = [
        (False, False, 9), (True, True, 20), (False, True, 1), (True, False, 30),
        (False, False, 3), (False, True, 1), (True, True, 2), (False, False, 12),
    ]  # fmt: skip
    with Session(get_engine(app)) as session:
        for n, (is_test, urgent, minutes) in enumerate(waiting):
            session.add(
                Call(
                    call_key=f"key-{n}",
                    line="helpline",
                    language="en",
                    step="queue",
                    status=CallStatus.QUEUED,
                    is_test=is_test,
                    urgent=urgent,
                    queued_at=now - timedelta(minutes=minutes),
                )
            )
        session.commit()
        in_order = waiting_calls(session)
        assert [(c.is_test, c.urgent) for c in in_order[:3]] == [
            (False, True),
            (False, True),
            (False, False),
        ]
        assert in_order[0].id == next_waiting_id(session)
        assert [queue_position(session, call) for call in in_order] == list(
            range(1, len(waiting) + 1)
        )
