"""Signed webhooks carrying whatever a request can carry (NUL bytes, control
characters, huge or negative numbers, digits of other scripts, any unicode) in every
field the helpline reads, to every voice webhook, for a call in each state: each
answer is HTTP 200 and valid TwiML, and never the apology or an error logged, which
here could only come from the input (on PostgreSQL, a DataError behind the door).

Hypothesis draws the cases from a fixed seed (`derandomize`): the same cases on every
run, so a failure is found again, not by chance."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

# A checkout whose .venv predates hypothesis in requirements.lock skips this file
# rather than failing to collect tests/voice; `make test` (and CI) installs the lock.
pytest.importorskip("hypothesis", reason="not installed: `make test` installs requirements.lock")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ivr.sim.twilio import SimulatedCall, parse_twiml, spoken
from ivr.voice import urls
from tests.conftest import start_in_english
from tests.voice.test_call_flow import walk_to_anonymity

APOLOGY = "Sorry, we have a technical problem"
# Per webhook and database: 550 cases on each, a few seconds (docs/operations.md).
EXAMPLES = 50

# What Twilio sends that the helpline reads (ivr/voice/door.py), and what the handler's
# leg reads from its form.
FIELDS = (
    "CallSid",
    "To",
    "Called",
    "CallStatus",
    "Digits",
    "SpeechResult",
    "Confidence",
    "CallDuration",
    "QueueTime",
    "QueueResult",
    "DialCallStatus",
)
ODD = [
    "",
    "\x00",
    "1\x00",
    "\x00" * 40,
    "9" * 30,
    "-1",
    "1e9",
    " 7 ",
    "²",  # a digit to str.isdigit, not to int()
    "١٢٣",  # Arabic-Indic digits: int() reads them
    "𝟙",
    "#",
    "*",
    "1" * 1000,  # longer than any field is kept; every field so fits under MAX_BODY_BYTES
    "\ufeff1",
    "completed",
    "in-progress",
    "hangup",
    "bridged",
    "\u202eKent",
    "Kent\r\nX-Forged: 1",
]
# Any text that can be sent as UTF-8 (no lone surrogates: no client can send those).
VALUE = st.one_of(
    st.sampled_from(ODD),
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
)
# Twilio's counts of seconds, read as numbers at the door: odd numbers more often.
SECONDS = st.one_of(
    st.sampled_from(
        ["²", "١٢٣", "𝟙", "-1", "+5", "1e9", " 7 ", "9" * 30, "86401", "0x10", "5\x00"]
    ),
    VALUE,
)
FORM = st.fixed_dictionaries(
    {}, optional={**dict.fromkeys(FIELDS, VALUE), "CallDuration": SECONDS, "QueueTime": SECONDS}
)
ENDPOINTS = (
    "incoming",
    "step",
    "step-seq",
    "wait",
    "queue-choice",
    "queue-left",
    "status",
    "fallback",
    "resume",
    "whisper",
    "after-dial",
)


@pytest.fixture
def errors_logged() -> Iterator[list[logging.LogRecord]]:
    """Errors the webhooks log (each failure is logged on one line before the apology)."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.ERROR)
    logger = logging.getLogger("ivr")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def _call_in(state: str, new_call) -> SimulatedCall:  # type: ignore[no-untyped-def]
    call = new_call()
    if state == "menus":
        start_in_english(call)
    elif state == "queued":
        walk_to_anonymity(call)
        call.press("1")
    return call


def _url(endpoint: str, call: SimulatedCall, query: str) -> str:
    gather = call.twiml.find("Gather") if call.twiml is not None else None
    enqueue = call.twiml.find("Enqueue") if call.twiml is not None else None
    if endpoint == "step":
        return gather.get("action") if gather is not None else urls.step("language", 1)
    if endpoint == "step-seq":  # the step's URL with any seq at all
        path = gather.get("action") if gather is not None else urls.step("language", 1)
        return f"{path.partition('?')[0]}?{urlencode({'seq': query})}"
    if endpoint == "wait" and enqueue is not None:
        return enqueue.get("waitUrl")
    if endpoint == "queue-left" and enqueue is not None:
        return enqueue.get("action")
    if endpoint == "resume":
        return f"{urls.RESUME}?{urlencode({'try': query})}"
    if endpoint == "whisper":
        return f"{urls.WHISPER}?{urlencode({'call': query})}"
    if endpoint == "after-dial":
        return f"{urls.AFTER_DIAL}?{urlencode({'call': query, 'handler': query})}"
    return f"{urls.PREFIX}/{endpoint}"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    # The app and its database are made once per test; each case makes its own call.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    state=st.sampled_from(["none", "menus", "queued"]),
    form=FORM,
    query=VALUE,
)
def test_any_signed_webhook_gets_twiml_and_never_the_apology(
    new_call, errors_logged, endpoint, state, form, query
):
    call = _call_in(state, new_call)
    errors_logged.clear()
    status, body = call.post(_url(endpoint, call, query), form)
    twiml = parse_twiml(status, body)  # HTTP 200, XML, TwiML Twilio accepts
    failures = {_failed_with(record) for record in errors_logged}
    if state == "none" or "CallSid" in form:
        # A call we do not know (no CallSid, or not one of ours): by design the caller
        # is asked to hold and try again (tests/voice/test_resilience.py); nothing else.
        assert failures <= UNKNOWN_CALL, failures
    else:
        assert failures == set()
        if endpoint != "fallback":  # Twilio's fallback URL is the apology, by design
            assert APOLOGY not in " ".join(spoken(twiml))


# What a webhook raises, by design, for a request about no call of ours.
UNKNOWN_CALL = {"LookupError", "ValueError"}


def _failed_with(record: logging.LogRecord) -> str:
    """The exception's type from "webhook /voice/... failed with DataError; ..."."""
    message = record.getMessage()
    return (
        message.split(" failed with ", 1)[1].split(";", 1)[0]
        if " failed with " in message
        else message
    )
