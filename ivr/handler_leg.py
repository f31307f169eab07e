"""Twilio webhooks for the handler's leg of a taken call: the whisper the handler hears
before being connected, and what happens to the caller if the handler does not answer.

Same door as the caller's webhooks (signature first); nothing here reads the
caller's identifiers: the call is found by our own id, carried in the URL we gave.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from sqlalchemy import update
from twilio.twiml.voice_response import VoiceResponse

from ivr import voice
from ivr.db import get_session
from ivr.inbound import TwilioParams
from ivr.models import Call
from ivr.report_record import load_categories
from ivr.runtime import get_runtime


def make_blueprint() -> Blueprint:
    bp = Blueprint("handler_leg", __name__, url_prefix="/voice/handler")
    bp.before_request(voice._require_twilio_signature)
    bp.add_url_rule("/whisper", view_func=whisper, methods=["POST"])
    bp.add_url_rule("/after-dial", view_func=after_dial, methods=["POST"])
    return bp


def _call() -> Call | None:
    call_id = request.args.get("call", type=int)
    return get_session().get(Call, call_id) if call_id else None


def whisper_text(call: Call) -> str:
    runtime = get_runtime()
    categories = load_categories(runtime.settings.config_dir)
    parts = ["Helpline caller."]
    if call.urgent:
        parts.append("Urgent: someone may be at risk.")
    parts.append(f"Force: {runtime.forces.name(call.force)}.")
    category = categories.get(call.category or "")
    parts.append(f"About: {category.label if category else 'not said'}.")
    if call.anonymous is False:
        parts.append("The caller may leave contact details.")
    else:
        parts.append("The caller is anonymous: do not ask for their name or number.")
    return " ".join(parts)


def whisper() -> Response:
    return voice._answer(_whisper)


def _whisper(_params: TwilioParams) -> VoiceResponse:
    response = VoiceResponse()
    call = _call()
    response.say(whisper_text(call) if call else "Helpline caller.", voice="Polly.Amy")
    return response


def after_dial() -> Response:
    return voice._answer(_after_dial)


def _after_dial(_params: TwilioParams) -> VoiceResponse:
    call = _call()
    dial_status = request.form.get("DialCallStatus", "")
    if call is None or dial_status == "completed":
        response = VoiceResponse()
        response.hangup()
        return response
    # The handler did not answer: back to the queue, ahead of later callers (queued_at kept).
    session = get_session()
    session.execute(
        update(Call)
        .where(Call.id == call.id, Call.status == "answered")
        .values(status="queued", handler_id=None, answered_at=None)
    )
    session.commit()
    session.refresh(call)
    runtime = get_runtime()
    flow = runtime.flows.flows.get(call.line) or runtime.flows.for_number(None)
    call.preface = []
    return runtime.engine.render(call, flow)
