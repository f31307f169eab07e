"""A caller never hears an error: failures inside become spoken words, HTTP 200. A caller
in the menus is asked to hold while we try again (never hung up on for a blip); only
after the last try, or for a request that is no webhook at all, the apology that ends
the call."""

from __future__ import annotations

import pytest

from ivr.sim.twilio import parse_twiml, spoken
from tests.conftest import start_in_english

APOLOGY = "Sorry, we have a technical problem"


def assert_final_apology(status: int, body: str) -> None:
    twiml = parse_twiml(status, body)  # 200, XML prolog, <Response>
    words = " ".join(spoken(twiml))
    assert APOLOGY in words
    assert "report online at crimestoppers-uk.org" in words
    assert twiml.find("Hangup") is not None


def assert_asked_to_hold(status: int, body: str, next_try: int = 1) -> None:
    """The apology, the other way to report, and a try again: never a hang-up."""
    twiml = parse_twiml(status, body)
    words = " ".join(spoken(twiml))
    assert APOLOGY in words and "stay on the line" in words
    assert "report online at crimestoppers-uk.org" in words
    assert twiml.find("Hangup") is None
    assert twiml.find("Redirect").text == f"/voice/resume?try={next_try}"


def test_database_down_at_the_first_ring(app, new_call, break_database):
    """The welcome needs nothing stored, so it is heard; the first key, which stores the
    call, is asked to hold."""
    break_database(app)
    call = new_call()
    assert "English, 1." in " ".join(spoken(call.start()))
    assert_asked_to_hold(*call.post(call.gather().get("action"), {"Digits": "1"}))


def test_database_down_mid_call(app, new_call, break_database):
    call = new_call()
    start_in_english(call)
    action = call.gather().get("action")
    break_database(app)
    assert_asked_to_hold(*call.post(action, {"Digits": "1"}))


def test_unreachable_database_server(settings_overrides, new_call):
    from ivr import create_app
    from ivr.sim.twilio import SimulatedCall, flask_transport
    from tests.conftest import AUTH_TOKEN

    app = create_app({**settings_overrides, "database_url": "postgresql://nobody@127.0.0.1:1/none"})
    call = SimulatedCall(
        transport=flask_transport(app.test_client()),
        auth_token=AUTH_TOKEN,
        base_url="http://localhost/",
    )
    call.start()
    assert_asked_to_hold(*call.post(call.gather().get("action"), {"Digits": "1"}))


def test_a_bug_in_the_flow_moves_becomes_an_apology(app, new_call, monkeypatch):
    from ivr.voice.runtime import get_voice

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    call = new_call()
    start_in_english(call)
    monkeypatch.setattr(get_voice(app).moves, "handle", broken)
    assert_asked_to_hold(*call.post(call.gather().get("action"), {"Digits": "1"}))


def test_unknown_call_sid(new_call):
    call = new_call()
    assert_asked_to_hold(*call.post("/voice/step/force?seq=1", {"Digits": "1"}))


def test_step_that_does_not_exist_takes_the_caller_back(new_call):
    call = new_call()
    start_in_english(call)
    status, body = call.post("/voice/step/no-such-step?seq=1", {"Digits": "1"})
    twiml = parse_twiml(status, body)
    assert "let's try that again" in " ".join(spoken(twiml)).lower()
    assert twiml.find("Gather").get("action") == call.gather().get("action")
    assert call.gather().get("action").startswith("/voice/step/role?seq=")


@pytest.mark.parametrize("path", ["/voice/nothing-here", "/voice/step/"])
def test_unknown_voice_path_still_answers_twiml(client, path):
    response = client.post(path, data={"CallSid": "CA1"})
    assert_final_apology(response.status_code, response.get_data(as_text=True))


def test_wrong_method_still_answers_twiml(client):
    response = client.get("/voice/incoming")
    assert_final_apology(response.status_code, response.get_data(as_text=True))


def test_missing_fields_are_not_a_crash(new_call):
    call = new_call()
    start_in_english(call)
    # A Gather action with no Digits at all (the redirect after silence) re-prompts.
    status, body = call.post(call.gather().get("action"))
    assert "didn't hear a choice" in " ".join(spoken(parse_twiml(status, body)))


def test_fallback_url_answers_without_the_database(app, new_call, break_database):
    break_database(app)
    call = new_call()
    assert_asked_to_hold(*call.post("/voice/fallback", {"ErrorCode": "11200"}))


def test_status_callback_for_an_unknown_call_is_quietly_accepted(new_call):
    call = new_call()
    status, body = call.hang_up()
    assert parse_twiml(status, body).tag == "Response"
