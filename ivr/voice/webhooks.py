"""Twilio's voice webhooks: thin views over the call flow's moves and renderer, each
answering TwiML through `answering.answer_twiml` (a caller never hears an error).
The door (ivr/voice/door.py) has checked the signature and cut the caller's
identifiers away before any of them runs; the status callback is status_callback.py.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from sqlalchemy import Connection, select
from sqlalchemy.orm.exc import StaleDataError
from twilio.twiml.voice_response import VoiceResponse

from ivr.core import followup
from ivr.core.db import get_session
from ivr.core.rate_limit import take
from ivr.core.runtime import get_core
from ivr.models import Call, utcnow
from ivr.voice import call_end, call_life, call_store, new_calls, outage, staffing, urls
from ivr.voice.answering import answer_twiml, twiml
from ivr.voice.door import TwilioParams, require_twilio_signature
from ivr.voice.flows.moves import CallerInput
from ivr.voice.runtime import get_voice
from ivr.voice.status_callback import status
from ivr.voice.taking import queue_position


def make_blueprint() -> Blueprint:
    bp = Blueprint("voice", __name__)
    bp.before_request(require_twilio_signature)
    bp.add_url_rule(urls.INCOMING, view_func=incoming, methods=["POST"])
    bp.add_url_rule(urls.STEP_RULE, view_func=step, methods=["POST"])
    bp.add_url_rule(urls.WAIT, view_func=wait, methods=["POST"])
    bp.add_url_rule(urls.QUEUE_CHOICE, view_func=queue_choice, methods=["POST"])
    bp.add_url_rule(urls.QUEUE_LEFT, view_func=queue_left, methods=["POST"])
    bp.add_url_rule(urls.STATUS, view_func=status, methods=["POST"])
    bp.add_url_rule(urls.FALLBACK, view_func=fallback, methods=["POST"])
    bp.add_url_rule(urls.RESUME, view_func=resume, methods=["POST"])
    return bp


def _load_call(params: TwilioParams) -> Call | None:
    """The stored call as an ORM object in the request's session (the resume path)."""
    if not params.call_sid:
        return None
    return get_session().scalar(select(Call).where(Call.call_key == new_calls.key(params)))


def incoming() -> Response:
    return answer_twiml(_incoming)


def _incoming(params: TwilioParams, tries: int = 0) -> VoiceResponse | str:
    """The welcome depends on nothing stored, so a new call is answered without a write
    (docs/benchmarks.md): its first step stores it (`_step`), and so does the status
    callback of a caller who hangs up during the welcome (`_status`), so every call is
    in the figures. Stored at once: a call turned away (its outcome is the record) and
    a test call (the console's test-call page finds it to audit)."""
    runtime = get_voice()
    call, flow = new_calls.new_call(params)
    # Nobody to answer (closed, or no handler available): said at once, before the menus.
    # (No session opened when nothing is checked.)
    # One reading of the clock for "closed" and "open again at": read twice, a caller
    # turned away a moment before opening time heard "open again tomorrow".
    moment = staffing.now()
    why = runtime.settings.check_staffing and staffing.why_nobody_answers(
        get_session(), flow, runtime.settings, moment
    )
    if why:
        call.outcome = why
    if why or call.is_test:
        with call_store.connect() as connection:
            call = call_store.store(connection, call).call
            connection.commit()
    if call.outcome in (staffing.CLOSED, staffing.NOBODY):
        entry = flow.entry(params.to)
        # The main number has not asked for a language yet: say it in each.
        languages = [entry.language] if entry.language != flow.languages[0] else flow.languages
        return runtime.renderer.render_turned_away(flow, list(languages), call.outcome, moment)
    return runtime.renderer.render_text(call, runtime.flows.for_line(call.line), tries)


def _insert_first(connection: Connection, call: Call) -> call_store.Loaded | None:
    """Store a new call at its first step, unless it has ended already (None). Its key is
    replaced at the end, so a first step answered after the final status callback (a
    Twilio retry, or a request held behind others while the caller hung up) would find
    no call and store it a second time; the end's erasure request (status_callback's
    claim) says it has ended."""
    settings = get_voice().settings
    if not settings.twilio_erase_calls or call.is_test or not call.live_call_sid:
        return call_store.store(connection, call)  # no claim is made for such a call
    digest = get_core().cipher.digest(call.live_call_sid)
    return call_store.store_unless_ended(connection, call, digest)


def step(step_id: str) -> Response:
    return answer_twiml(lambda params: _step(params, step_id))


def _step(params: TwilioParams, step_id: str) -> VoiceResponse | str:
    runtime = get_voice()
    seq = request.args.get("seq", type=int)
    with call_store.connect() as connection:
        loaded = call_store.load(connection, new_calls.key(params)) if params.call_sid else None
        if loaded is None:
            # The welcome was answered without a write: the first step stores the call.
            call, flow = new_calls.new_call(params)
            if (step_id, seq) != (call.step, call.seq):
                raise LookupError("a step for a call we do not know")
            call.last_idempotency_token = None  # this request's is the step's, not the ring's
            first = _insert_first(connection, call)
            if first is None:
                return VoiceResponse()  # the call has ended: nobody is there to hear
            loaded = first
        call = loaded.call
        flow = runtime.flows.for_line(call.line)
        # A keyed hash: what the caller typed or said is not kept in clear (call_end.py).
        request_key = call_end.request_key(
            get_core().settings.secret_key, step_id, seq, params.digits, params.speech
        )
        token = params.idempotency_token
        is_current = step_id == call.step and seq == call.seq
        already_done = request_key == call.last_request_key or (
            token and token == call.last_idempotency_token
        )
        if not is_current or already_done:
            connection.commit()  # the new call, if this request stored it
            # A retry, a duplicate, or a stale request: change nothing, say where the caller is.
            if step_id not in flow.steps:
                call.preface = ["notice.lost_step"]
            return runtime.renderer.render_text(call, flow)

        given = CallerInput(
            digits=params.digits,
            speech=params.speech,
            # Read only when the caller presses the key that asks for it.
            calling_number=lambda: request.form.get("From"),
            check_followup=_check_followup,
        )
        outcome = runtime.moves.handle(call, flow, given)
        call.last_request_key = request_key
        call.last_idempotency_token = token or None
        won = call_store.save_with_event(
            connection, loaded, outcome.step, outcome.outcome, outcome.value
        )
        connection.commit()
        if not won:
            # Another worker answered the same request first: show the state it left.
            stored = call_store.load(connection, new_calls.key(params))
            connection.commit()
            if stored is None:
                raise LookupError("the call ended while this step was answered")
            call = stored.call
    return runtime.renderer.render_text(call, runtime.flows.for_line(call.line))


def _check_followup(reference: str, code: str) -> tuple[int, int] | None:
    """The phone line's follow-up check: the same function, lock and shared rate limit
    as the web's. Committed at once, before the step's own write: a wrong code's count
    and any lock are kept whatever becomes of the step."""
    session = get_session()
    try:
        if not take(session, followup.CHECK_LIMIT):
            return None
        report = followup.check(session, reference, code, route="phone")
        if report is None:
            return None
        return report.id, followup.open_questions(session, report.id)
    finally:
        session.commit()


def wait() -> Response:
    return answer_twiml(_wait, when_failed="queue")


def _wait(params: TwilioParams) -> VoiceResponse:
    runtime = get_voice()
    with call_store.connect() as connection:
        loaded = call_store.load(connection, new_calls.key(params)) if params.call_sid else None
        if loaded is None:
            raise LookupError("a wait request for a call we do not know")
        call = loaded.call
        flow = runtime.flows.for_line(call.line)
        if staffing.why_nobody_answers(connection, flow, runtime.settings):
            # The last handler has gone (or the line has closed): say so now, then out of
            # the queue, with the online address, rather than holding for nobody.
            call.outcome = staffing.NOBODY
            call_store.save(connection, loaded)
            connection.commit()
            return runtime.renderer.render_nobody_left(call, flow)
        position = queue_position(connection, call)
        offer_after = runtime.settings.queue_offer_after_seconds
        last_offer = int((call.answers or {}).get("_offered_at_queue_time", 0))
        # Offer to leave once per `offer_after` seconds of waiting, not at every wait message.
        waited_since_offer = params.queue_time - last_offer
        if waited_since_offer >= offer_after:
            call.set_answer("_offered_at_queue_time", params.queue_time)
            call_store.save(connection, loaded)
        recent = staffing.recent_wait_seconds(connection)
        connection.commit()
    return runtime.renderer.render_wait(call, flow, position, waited_since_offer, recent)


def queue_choice() -> Response:
    return answer_twiml(_queue_choice)


def _queue_choice(params: TwilioParams) -> VoiceResponse:
    response = VoiceResponse()
    if params.digits == "2":
        response.leave()  # the Enqueue action then says goodbye with the online address
    else:
        response.redirect(urls.WAIT, method="POST")
    return response


def queue_left() -> Response:
    return answer_twiml(_queue_left, when_failed="quiet")


def _queue_left(params: TwilioParams) -> VoiceResponse:
    runtime = get_voice()
    with call_store.connect() as connection:
        loaded = call_store.load(connection, new_calls.key(params)) if params.call_sid else None
        if loaded is None:
            raise LookupError("a queue result for a call we do not know")
        call = loaded.call
        result = params.queue_result
        # Twilio's QueueTime, or our own count where Twilio's is missing (call_end.queue_wait).
        call_life.leave_queue(call, result, call_end.queue_wait(call, params.queue_time, utcnow()))
        if not call_store.save(connection, loaded):
            raise StaleDataError("the call moved while its queue result was recorded")
        connection.commit()
    flow = runtime.flows.for_line(call.line)
    if result == "leave":
        return runtime.renderer.render_leaving(call, flow)
    if result in ("error", "system-error", "queue-full"):
        return runtime.renderer.render_error(flow, call.language)
    return VoiceResponse()


def fallback() -> Response:
    """Twilio's fallback URL: reached when our Voice URL failed (a worker killed, a
    timeout). No database here: the caller is asked to hold while we try again."""
    runtime = get_voice()
    params = TwilioParams.from_request(request)
    flow = runtime.flows.for_number(params.to)
    language = flow.entry(params.to).language
    online = runtime.settings.online_report_url
    return twiml(outage.hold_and_try_again(flow, language, online, 0))


def resume() -> Response:
    return answer_twiml(_resume)


def _resume(params: TwilioParams) -> VoiceResponse | str:
    """A caller who held through a failure: carry on from the call's stored state (a new
    call if the failure came before it was stored)."""
    # The next answer's URL carries the tries so far: a step that fails again and again
    # (a bug, not a blip) ends in goodbye after RESUME_TRIES, not in a loop.
    # Bounded: any larger number means the same (goodbye at the next failure).
    tries = min(request.args.get("try", 0, type=int) or 0, outage.RESUME_TRIES)
    call = _load_call(params)
    if call is None:
        return _incoming(params, tries)
    runtime = get_voice()
    return runtime.renderer.render_text(call, runtime.flows.for_line(call.line), tries)
