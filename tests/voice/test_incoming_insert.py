"""/voice/incoming inserts a new call at once; a retried call changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from ivr.core.db import get_session
from ivr.models import Call
from ivr.sim.twilio import spoken


def _calls(app) -> list[Call]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(get_session().scalars(select(Call)))


def test_a_new_call_is_stored_as_the_orm_would_store_it(app, new_call):
    call = new_call()
    twiml = call.start()
    assert twiml.find("Gather").get("action") == "/voice/step/language?seq=1"
    [stored] = _calls(app)
    assert (stored.line, stored.language, stored.step, stored.status) == (
        "helpline",
        "en",
        "language",
        "in_flow",
    )
    assert stored.seq == 1
    assert stored.tries == 0
    assert stored.answers == {}
    assert stored.preface == []
    assert stored.urgent is False
    assert stored.is_test is False
    assert stored.started_at is not None
    assert stored.live_call_sid == call.call_sid
    assert stored.call_key != call.call_sid


def test_the_next_step_works_on_the_inserted_call(app, new_call):
    call = new_call()
    call.start()
    call.press("1")  # English
    twiml = call.press("1")  # an officer
    assert call.path == "/voice/step/role"
    assert "Which force?" in " ".join(spoken(twiml))
    [stored] = _calls(app)
    assert stored.seq == 3
    assert stored.step == "force"


def test_a_retried_incoming_request_changes_nothing(app, new_call):
    call = new_call()
    first = call.post("/voice/incoming")
    call.start()
    call.press("1")  # English
    call.press("1")
    retried = call.post("/voice/incoming")
    assert first[0] == retried[0] == 200
    # Answered from the stored state (now the force question), not a second new call.
    assert "<Hangup" not in retried[1]
    assert "seq=3" in retried[1]
    with app.app_context():
        assert get_session().scalar(select(func.count(Call.id))) == 1
