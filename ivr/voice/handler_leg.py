"""Twilio webhooks for the handler's leg of a taken call: the whisper the handler hears
before being connected, and what happens to the caller if the handler does not answer.

Same door as the caller's webhooks (signature first); nothing here reads the
caller's identifiers: the call is found by our own id, carried in the URL we gave.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from twilio.twiml.voice_response import VoiceResponse

from ivr.core.categories import load_categories
from ivr.core.db import get_session
from ivr.core.runtime import get_core
from ivr.models import Call
from ivr.models.calls import MAX_UNORDERED_ID
from ivr.voice import answering, call_life, door, urls
from ivr.voice.door import TwilioParams
from ivr.voice.runtime import get_voice


def make_blueprint() -> Blueprint:
    bp = Blueprint("handler_leg", __name__)
    bp.before_request(door.require_twilio_signature)
    bp.add_url_rule(urls.WHISPER, view_func=whisper, methods=["POST"])
    bp.add_url_rule(urls.AFTER_DIAL, view_func=after_dial, methods=["POST"])
    return bp


def _call() -> Call | None:
    call_id = request.args.get("call", type=int)
    # An id past the column's range is no call of ours (and PostgreSQL would refuse it).
    if not call_id or not 0 < call_id <= MAX_UNORDERED_ID:
        return None
    return get_session().get(Call, call_id)


ROLES = ("officer", "staff", "volunteer")  # the role menu's values (call_flows/*/flow.toml)


def whisper_text(call: Call) -> str:
    """The call's context in the call's own language (the flow's `whisper.*` prompts)."""
    runtime = get_core()
    flow = get_voice().flows.for_line(call.line)
    language = flow.spoken_language(call.language)

    def say(key: str, **values: str) -> str:
        return flow.prompt(language, f"whisper.{key}", **values)

    def named(prefix: str, value: str | None, fallback: str | None) -> str:
        # In another language than the first, the name its menu says ("Heddlu Gwent");
        # otherwise the config's full name ("Metropolitan Police Service").
        return flow.name_in(language, prefix, value) or fallback or say("not_said")

    if (call.answers or {}).get("followup_report") is not None:
        # A reporter following up: their report opens on the handler's screen.
        return " ".join(p for p in (say("caller"), say("followup"), say("anonymous")) if p)
    category = load_categories(runtime.settings.config_dir).get(call.category or "")
    parts = [say("caller")]
    if call.urgent:
        parts.append(say("urgent"))
    if call.role in ROLES:
        # The words the caller pressed for ("Reporting an officer."); nothing when not said.
        parts.append(say("role", value=flow.prompt(language, f"role.{call.role}")))
    parts.append(say("force", value=named("force", call.force, runtime.forces.name(call.force))))
    label = category.label if category else None
    parts.append(say("about", value=named("category", call.category, label)))
    parts.append(say("contact") if call.anonymous is False else say("anonymous"))
    return " ".join(part for part in parts if part)


def whisper() -> Response:
    return answering.answer_twiml(_whisper, when_failed="quiet")  # the handler hears no whisper


def _whisper(_params: TwilioParams) -> VoiceResponse:
    response = VoiceResponse()
    call = _call()
    if call is None:
        flow = get_voice().flows.default
        spoken = flow.voice_for(None)
        response.say(
            flow.prompt(flow.languages[0], "whisper.caller") or "Helpline caller.",
            voice=spoken.voice,
            language=spoken.language,
        )
        return response
    spoken = get_voice().flows.for_line(call.line).voice_for(call.language)
    response.say(whisper_text(call), voice=spoken.voice, language=spoken.language)
    return response


def after_dial() -> Response:
    return answering.answer_twiml(_after_dial)


def _after_dial(_params: TwilioParams) -> VoiceResponse:
    call = _call()
    dial_status = request.form.get("DialCallStatus", "")
    if call is None or dial_status == "completed":
        response = VoiceResponse()
        response.hangup()
        return response
    # The handler did not answer: back to the queue, ahead of later callers (queued_at kept),
    # unless the call is no longer this handler's (a late or repeated request).
    session = get_session()
    call_life.release(session, call.id, request.args.get("handler", 0, type=int))
    session.refresh(call)
    call.preface = []
    return get_voice().renderer.render(call, get_voice().flows.for_line(call.line))
