"""Ring the line from the console: a keypad that drives a simulated call through the
real webhooks, for supervisors and admins (training, checking a change to a flow).

Each button press is one request Twilio would make: the view posts it, signed with
the configured auth token, to this same app through an in-process WSGI client
(ivr/sim/twilio.py), and shows the TwiML's words. The call itself lives in the
database like any call; the user's session keeps only its CallSid, where it
waits (the Gather's action) and the words heard lately. The CallSid is minted
by the server (ivr/voice/marked_calls.py), which is what marks the call as a test.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urljoin

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from handler_console.access import allowed
from ivr.core.audit import audit
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.core.runtime import get_core
from ivr.models import Call
from ivr.sim.twilio import (
    LineDown,
    SimulatedCall,
    TwimlError,
    flask_transport,
    parse_twiml,
    press_keys,
)
from ivr.voice import urls
from ivr.voice.door import call_key
from ivr.voice.marked_calls import TEST_FROM, mint_call_sid
from ivr.voice.runtime import get_voice

STATE = "test_call"
# The transcript lives in the session cookie (browsers keep 4 KB): older turns are
# dropped past this many characters; the call's record below the keypad keeps all.
TRANSCRIPT_CHARACTERS = 2400
KEYPAD = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")
TYPED_KEYS = re.compile(r"^[0-9*#]{1,32}$")


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/test-call", view_func=test_call, methods=["GET"])
    bp.add_url_rule("/test-call/start", view_func=test_call_start, methods=["POST"])
    bp.add_url_rule("/test-call/keys", view_func=test_call_keys, methods=["POST"])
    bp.add_url_rule("/test-call/say", view_func=test_call_say, methods=["POST"])
    bp.add_url_rule("/test-call/silence", view_func=test_call_silence, methods=["POST"])
    bp.add_url_rule("/test-call/hang-up", view_func=test_call_hang_up, methods=["POST"])


def line_numbers() -> list[tuple[str, str]]:
    """Every number of every line, with what it is: (E.164, label)."""
    numbers = []
    for flow in get_voice().flows.flows.values():
        for number in flow.numbers:
            entry = flow.entry(number)
            numbers.append((number, f"{number} ({flow.name}, starts in {entry.language})"))
    return numbers


@allowed(Action.MAKE_TEST_CALLS)
def test_call() -> str:
    state = session.get(STATE)
    call = _stored_call(state["sid"]) if state else None
    return render_template(
        "console/test_call.html",
        state=state,
        call=call,
        numbers=line_numbers(),
        keypad=KEYPAD,
        flow=get_voice().flows.for_line(call.line) if call else None,
        test_from=TEST_FROM,
    )


@allowed(Action.MAKE_TEST_CALLS)
def test_call_start() -> Response:
    dialled = request.form.get("number", "")
    if dialled not in dict(line_numbers()):
        flash("Choose one of the line's numbers to ring.", "error")
        return redirect(url_for("console.test_call"))
    if session.get(STATE):
        _end(session[STATE])
    sid = mint_call_sid(get_core().settings.secret_key)
    state: dict[str, Any] = {"sid": sid, "to": dialled, "turns": [], "dropped": 0}
    _run(state, urls.INCOMING, {}, did=f"rang {dialled} from {TEST_FROM}")
    db = get_session()
    call = _stored_call(sid)
    if call is not None:
        audit(db, current_user.record, "test_call", "call", call.id, reason="test call")
        db.commit()
    return redirect(url_for("console.test_call"))


@allowed(Action.MAKE_TEST_CALLS)
def test_call_keys() -> Response:
    state = _waiting_state()
    if state is None:
        return redirect(url_for("console.test_call"))
    keys = (request.form.get("keys") or request.form.get("typed") or "").replace(" ", "")
    if not TYPED_KEYS.match(keys):
        flash("Keys are 0 to 9, * and #.", "error")
        return redirect(url_for("console.test_call"))
    did = f"pressed {keys}"
    # Keys past what a step takes are typed ahead into the next step, as on a phone.
    while keys and state.get("gather"):
        pressed = press_keys(state["gather"]["reads"], keys)
        _run(state, state["gather"]["action"], pressed.params, did)
        keys, did = pressed.typed_ahead, f"typed ahead {pressed.typed_ahead}"
    return redirect(url_for("console.test_call"))


@allowed(Action.MAKE_TEST_CALLS)
def test_call_say() -> Response:
    state = _waiting_state()
    if state is None:
        return redirect(url_for("console.test_call"))
    words = " ".join((request.form.get("words") or "").split())[:200]
    if not words:
        flash("Type the words the caller says.", "error")
    elif not state["gather"]["speech"]:
        flash("This step takes keys only: the line would not hear words here.", "error")
    else:
        extra = {"SpeechResult": words, "Confidence": "0.91"}
        _run(state, state["gather"]["action"], extra, f"said “{words}”")
    return redirect(url_for("console.test_call"))


@allowed(Action.MAKE_TEST_CALLS)
def test_call_silence() -> Response:
    state = _waiting_state()
    if state is not None:
        # No answer: Twilio goes on to the verb after the Gather, a Redirect.
        _run(state, state["gather"]["redirect"], {}, "stayed silent")
    return redirect(url_for("console.test_call"))


@allowed(Action.MAKE_TEST_CALLS)
def test_call_hang_up() -> Response:
    state = session.pop(STATE, None)
    if state:
        _end(state)
        flash("The test call is over.", "info")
    return redirect(url_for("console.test_call"))


# ---------------------------------------------------------------- the simulation
def _simulated(state: dict[str, Any]) -> SimulatedCall:
    settings = get_core().settings
    # Signed for the URL the webhooks check: the public one, or this request's own.
    base = (
        settings.public_base_url.rstrip("/") + "/" if settings.public_base_url else request.host_url
    )
    client = current_app.test_client()
    return SimulatedCall(
        transport=flask_transport(client),
        auth_token=settings.twilio_auth_token,
        base_url=base,
        to_number=state["to"],
        from_number=TEST_FROM,
        from_city="",
        call_sid=state["sid"],
        voice_url=urls.INCOMING,
        status_callback=urls.STATUS,
    )


def _run(state: dict[str, Any], url: str, extra: dict[str, str], did: str) -> None:
    """One request as Twilio makes it; the answer's words and what it waits for go in `state`."""
    call = _simulated(state)
    heard: list[list[str]] = []
    try:
        document = call.follow(url, extra)  # follows a lone <Redirect>, as Twilio does
        heard += _words(document)
        state["gather"] = _gather(document, call.last_url)
        state["ending"] = None
        if state["gather"] is None:
            enqueue = document.find("Enqueue")
            if enqueue is not None:
                wait = call.wait_in_queue()
                heard += _words(wait)
                place = re.search(r"\d+", " ".join(text for text, _ in _words(wait)))
                state["ending"] = {"how": "queued", "queue": (enqueue.text or "").strip(),
                                   "place": place.group() if place else ""}  # fmt: skip
            else:
                state["ending"] = {"how": "line_hung_up"}
    except (TwimlError, LineDown) as exc:
        flash(f"The line's answer is not what Twilio would accept: {exc}", "error")
        state["gather"], state["ending"] = None, {"how": "broken", "why": str(exc)}
    _add_turn(state, did, heard)
    session[STATE] = state


def _end(state: dict[str, Any]) -> None:
    """Hang up as Twilio reports it: leaving the queue, then the status callback."""
    call = _simulated(state)
    try:
        if (state.get("ending") or {}).get("how") == "queued":
            parse_twiml(*call.post(urls.QUEUE_LEFT, {"QueueResult": "hangup", "QueueTime": "0"}))
        parse_twiml(*call.hang_up(duration=0))
    except (TwimlError, LineDown) as exc:
        flash(f"Hanging up the test call failed: {exc}", "error")


def _words(document: ET.Element) -> list[list[str]]:
    return [[say.text or "", say.get("language", "")] for say in document.iter("Say")]


def _gather(document: ET.Element, url: str) -> dict[str, Any] | None:
    gather = document.find("Gather")
    if gather is None:
        return None
    redirect_after = document.find("Redirect")
    return {
        "action": urljoin(url, gather.get("action") or url),
        "speech": "speech" in gather.get("input", ""),
        # How the step reads keys (numDigits, finishOnKey), for press_keys.
        "reads": {k: v for k, v in gather.attrib.items() if k in ("numDigits", "finishOnKey")},
        "redirect": urljoin(url, redirect_after.text or "") if redirect_after is not None else "",
        "step": (gather.get("action") or "").split("?")[0].rsplit("/", 1)[-1],
    }


def _add_turn(state: dict[str, Any], did: str, heard: list[list[str]]) -> None:
    turns = [*state["turns"], {"did": did, "heard": heard}]
    while (
        len(turns) > 1
        and sum(len(t) for turn in turns for t, _ in turn["heard"]) > TRANSCRIPT_CHARACTERS
    ):
        turns.pop(0)
        state["dropped"] = state.get("dropped", 0) + 1
    state["turns"] = turns


def _waiting_state() -> dict[str, Any] | None:
    state = session.get(STATE)
    if not state or not state.get("gather"):
        flash("No test call is waiting for an answer: start one.", "info")
        return None
    return state


def _stored_call(sid: str) -> Call | None:
    key = call_key(get_core().settings.secret_key, sid)
    return get_session().scalar(select(Call).where(Call.call_key == key))
