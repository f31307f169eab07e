"""Values no real Twilio request carries (a NUL byte, a number past any call's length)
are cleaned at the door: the caller goes on, the status is recorded, nothing fails.

On PostgreSQL each of these raised DataError behind the door (a NUL in text, an
integer out of range), so the caller heard the apology or the status was lost."""

from __future__ import annotations

from ivr.sim.twilio import parse_twiml, spoken
from ivr.voice.door import clean_text
from tests.conftest import start_in_english
from tests.voice.test_call_flow import walk_to_anonymity

APOLOGY = "Sorry, we have a technical problem"


def said(twiml) -> str:  # type: ignore[no-untyped-def]
    return " ".join(spoken(twiml))


def test_clean_text_drops_control_characters_and_bounds_length():
    assert clean_text("1\x002\n3\x7f", 32) == "123"
    assert clean_text("x" * 500, 200) == "x" * 200


def test_nul_in_digits_is_not_an_apology(new_call, stored_call):
    call = new_call()
    start_in_english(call)
    status, body = call.post(call.gather().get("action"), {"Digits": "1\x00"})
    assert APOLOGY not in said(parse_twiml(status, body))
    assert "\x00" not in (stored_call(call).last_request_key or "")


def test_nul_in_speech_is_not_an_apology(new_call):
    call = new_call()
    start_in_english(call)
    status, body = call.post(call.gather().get("action"), {"SpeechResult": "Kent\x00"})
    assert APOLOGY not in said(parse_twiml(status, body))


def test_nul_in_call_sid_is_not_an_apology(new_call, stored_call):
    call = new_call(call_sid="CA" + "1" * 16 + "\x00" + "2" * 15)
    twiml = call.start()
    assert APOLOGY not in said(twiml)


def test_huge_call_duration_still_records_the_end(new_call, stored_call):
    call = new_call()
    start_in_english(call)
    status, _ = call.post("/voice/status", {"CallDuration": "9" * 30}, call_status="completed")
    assert status == 200
    row = stored_call(call)
    assert row.status == "ended" and row.duration_seconds is None


def test_huge_queue_time_is_not_an_apology(new_call, stored_call):
    call = new_call()
    walk_to_anonymity(call)
    call.press("1")
    twiml = call.wait_in_queue(queue_time=10**20)
    assert APOLOGY not in said(twiml)
    left = call.leave_queue("hangup", queue_time=10**20)
    assert APOLOGY not in said(left)
    assert stored_call(call).queue_seconds == 0


def test_handler_leg_with_an_id_past_the_integer_range(client, new_call):
    call = new_call()
    status, body = call.post(f"/voice/handler/whisper?call={2**70}")
    assert APOLOGY not in said(parse_twiml(status, body))


def test_digits_of_other_kinds_in_seconds_are_taken_as_missing(new_call, stored_call):
    # "²" is a digit to str.isdigit but not to int(): it raised before any view (HTTP 500).
    call = new_call()
    twiml = parse_twiml(*call.post("/voice/incoming", {"QueueTime": "²", "CallDuration": "١٢"}))
    assert APOLOGY not in said(twiml)
    call.post(twiml.find("Gather").get("action"))  # the first step stores the call
    status, _ = call.post("/voice/status", {"CallDuration": "²"}, call_status="completed")
    assert status == 200
    assert stored_call(call).duration_seconds is None
