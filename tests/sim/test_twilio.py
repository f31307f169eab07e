"""The simulated Twilio refuses what Twilio would refuse, and counts words as a voice says them."""

from __future__ import annotations

import pytest

from ivr.core.spoken import number_words, spoken_words
from ivr.sim.twilio import Keys, SimulatedCall, TwimlError, parse_twiml, press_keys
from ivr.voice import urls

PROLOG = '<?xml version="1.0" encoding="UTF-8"?>'


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<Response><Sya>Hi</Sya></Response>", "<Sya> is not a TwiML verb"),
        (
            '<Response><Say voice="Polly.Gwyneth" language="en-GB">Helo</Say></Response>',
            "<Say voice='Polly.Gwyneth'> speaks cy-GB, not 'en-GB'",
        ),
        (
            "<Response><Gather><Enqueue>q</Enqueue></Gather></Response>",
            "<Enqueue> cannot be nested in <Gather>",
        ),
        ("<Response><Redirect/></Response>", "<Redirect> has no URL or queue name"),
        ("<Response><Say></Say></Response>", "<Say> with nothing to say"),
        ("<Reply/>", "the root element is <Reply>, not <Response>"),
    ],
)
def test_twiml_twilio_would_refuse_is_refused(body: str, problem: str):
    with pytest.raises(TwimlError, match="^" + problem.replace("(", r"\(") + "$"):
        parse_twiml(200, PROLOG + body)


def test_good_twiml_passes():
    body = '<Response><Say voice="Polly.Gwyneth" language="cy-GB">Helo</Say><Hangup/></Response>'
    assert parse_twiml(200, PROLOG + body).tag == "Response"


def test_a_status_other_than_200_is_an_error_with_its_status():
    with pytest.raises(TwimlError) as caught:
        parse_twiml(403, "Forbidden")
    assert caught.value.status == 403


@pytest.mark.parametrize(
    ("number", "words"),
    [(7, 1), (20, 1), (42, 2), (100, 2), (999, 5), (1000, 2), (1100, 4), (2024, 5)],
)
def test_numbers_count_as_the_words_they_are_said_in(number: int, words: int):
    assert number_words(number) == words


def test_spoken_words():
    assert spoken_words("You can stay 100 per cent anonymous.") == 8
    assert spoken_words("Press: Yes, 1. No, 2.") == 5
    assert spoken_words("Dyfed-Powys, 1 — Gwent") == 3


def test_the_simulated_number_is_pointed_where_the_app_listens():
    """The simulator cannot import the app; its number's settings are the app's URLs."""
    call = SimulatedCall(transport=lambda *a: (200, ""), auth_token="t", base_url="http://h/")
    assert call.voice_url == urls.INCOMING
    assert call.status_callback == urls.STATUS


@pytest.mark.parametrize(
    ("gather", "keys", "read"),
    [
        ({"numDigits": "1"}, "1", Keys("1", "", "")),
        ({"numDigits": "1"}, "123", Keys("1", "", "23")),  # typed ahead into the next menu
        ({"finishOnKey": "#"}, "02079460000#", Keys("02079460000", "#", "")),
        ({"finishOnKey": "#"}, "0207#12", Keys("0207", "#", "12")),
        ({"finishOnKey": "#"}, "#", Keys("#", "", "")),
        ({}, "0207", Keys("0207", "", "")),
    ],
)
def test_keys_are_read_as_twilio_reads_them(gather, keys, read):
    assert press_keys(gather, keys) == read
