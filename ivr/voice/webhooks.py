"""Twilio's voice webhooks: thin views over the call flow's moves and renderer, each
answering TwiML.

Every view runs inside `_answer`, which turns any failure (database down, a bug,
an unknown call) into a spoken apology with HTTP 200: a caller never hears an error.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from flask import Blueprint, Response, request
from sqlalchemy import Connection, Table, bindparam, insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from twilio.twiml.voice_response import VoiceResponse

from ivr.core import followup
from ivr.core.db import get_session, insert_on_conflict
from ivr.core.rate_limit import take
from ivr.core.runtime import get_core
from ivr.models import Call, TwilioErasure, utcnow
from ivr.voice import call_end, call_life, call_store, outage, staffing, twilio_erasure, urls
from ivr.voice.door import MAX_BODY_BYTES, TwilioParams, call_key, signature_is_valid
from ivr.voice.flows.catalogue import Flow
from ivr.voice.flows.moves import CallerInput
from ivr.voice.marked_calls import is_test_call_sid
from ivr.voice.runtime import get_voice
from ivr.voice.taking import queue_position

log = logging.getLogger("ivr.voice.webhooks")

# Built once: SQLAlchemy caches a statement's compiled form by the statement object,
# and building and keying a 30-column INSERT anew costs more than running it. It
# returns the stored row, defaults and all, for the step that follows.
_INSERT_CALL = insert(cast(Table, Call.__table__)).returning(*Call.__table__.columns)
# The first step's INSERT, unless the call has ended (`_insert_first`): one per set of
# columns given, built once as the step's UPDATEs are (call_store.py).
_INSERTS_UNLESS_ENDED: dict[tuple[str, ...], Any] = {}


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


def require_twilio_signature() -> Response | None:
    # Before anything reads the body: a bigger one is never parsed (reading the form
    # raises RequestEntityTooLarge, answered 413 by ivr.voice_http_error).
    request.max_content_length = MAX_BODY_BYTES
    runtime = get_voice()
    settings = runtime.settings
    if not settings.check_signatures and settings.is_development:
        return None
    if signature_is_valid(request, runtime.validator, settings.public_base_url):
        return None
    # Never the parameters: a forged request may still carry a real caller's number.
    log.warning(
        "refused a webhook request to %s: missing or wrong X-Twilio-Signature", request.path
    )
    return Response("Forbidden", status=403, mimetype="text/plain")


def _twiml(response: VoiceResponse | str) -> Response:
    return Response(str(response), mimetype="text/xml")


def answer_twiml(
    build: Callable[[TwilioParams], VoiceResponse | str], when_failed: str = "menus"
) -> Response:
    """Run a view within the deadline (ivr/voice/outage.py); a failure or a deadline
    passed becomes what `when_failed` says, with HTTP 200 and without the database:
    "menus" (hold and try again), "queue" (keep holding) or "quiet" (an empty answer)."""
    runtime = get_voice()
    params = TwilioParams.from_request(request)
    try:
        return _twiml(outage.within_deadline(lambda: build(params)))
    except Exception as exc:
        # Where it failed, never the exception's message: that may quote a caller's input.
        # One line (the log escapes line breaks): the frames, innermost last.
        where = " > ".join(
            f"{Path(frame.filename).name}:{frame.lineno} {frame.name}"
            for frame in traceback.extract_tb(exc.__traceback__)
        )
        log.error(
            "webhook %s failed with %s; the caller was asked to hold%s",
            request.path,
            type(exc).__name__,
            "" if isinstance(exc, outage.DeadlinePassed) else f"; at {where}",
        )
    # In the number's own language (a Welsh-first number speaks Welsh first).
    flow = runtime.flows.for_number(params.to)
    language = flow.entry(params.to).language
    online = runtime.settings.online_report_url
    if when_failed == "queue":
        return _twiml(
            outage.keep_holding(flow, language, online, runtime.settings.queue_pause_seconds)
        )
    if when_failed == "quiet":
        return _twiml(VoiceResponse())
    tries = request.args.get("try", 0, type=int) or 0
    return _twiml(outage.hold_and_try_again(flow, language, online, tries))


def _key(params: TwilioParams) -> str:
    return call_key(get_core().settings.secret_key, params.call_sid)


def _load_call(params: TwilioParams) -> Call | None:
    """The stored call as an ORM object in the request's session (the resume path)."""
    if not params.call_sid:
        return None
    return get_session().scalar(select(Call).where(Call.call_key == _key(params)))


def incoming() -> Response:
    return answer_twiml(_incoming)


def _new_call(params: TwilioParams) -> tuple[Call, Flow]:
    """A call as it starts on the dialled number, not stored (yet)."""
    runtime = get_voice()
    if not params.call_sid:
        raise ValueError("a call without CallSid")
    flow = runtime.flows.for_number(params.to)
    call = call_store.transient_call(
        {
            "call_key": _key(params),
            "live_call_sid": params.call_sid,
            "line": flow.id,
            "language": flow.languages[0],
            # Only a CallSid minted by this server (the console's test-call page) is a test.
            "is_test": is_test_call_sid(runtime.settings.secret_key, params.call_sid),
            "step": flow.start,
            "last_idempotency_token": params.idempotency_token or None,
            # What the ORM would give the version column on its first insert.
            "seq": 1,
        }
    )
    call_life.start(call)
    runtime.moves.begin(call, flow, params.to)
    return call, flow


def _incoming(params: TwilioParams, tries: int = 0) -> VoiceResponse | str:
    """The welcome depends on nothing stored, so a new call is answered without a write
    (docs/benchmarks.md): its first step stores it (`_step`), and so does the status
    callback of a caller who hangs up during the welcome (`_status`), so every call is
    in the figures. Stored at once: a call turned away (its outcome is the record) and
    a test call (the console's test-call page finds it to audit)."""
    runtime = get_voice()
    call, flow = _new_call(params)
    # Nobody to answer (closed, or no handler available): said at once, before the menus.
    # (No session opened when nothing is checked.)
    why = runtime.settings.check_staffing and staffing.why_nobody_answers(
        get_session(), flow, runtime.settings
    )
    if why:
        call.outcome = why
    if why or call.is_test:
        with call_store.connect() as connection:
            call = _insert(connection, call).call
            connection.commit()
    if call.outcome in (staffing.CLOSED, staffing.NOBODY):
        entry = flow.entry(params.to)
        # The main number has not asked for a language yet: say it in each.
        languages = [entry.language] if entry.language != flow.languages[0] else flow.languages
        return runtime.renderer.render_turned_away(
            flow, list(languages), call.outcome, staffing.now()
        )
    return runtime.renderer.render_text(call, runtime.flows.for_line(call.line), tries)


def _insert(connection: Connection, call: Call) -> call_store.Loaded:
    """Store a new call; if it is stored already (a Twilio retry, or the same call's
    requests at once), change nothing and give back the stored one."""
    try:
        row = connection.execute(_INSERT_CALL, _column_values(call)).mappings().one()
        return call_store.Loaded(dict(row))
    except IntegrityError:
        connection.rollback()
        stored = call_store.load(connection, call.call_key)
        if stored is None:
            raise
        return stored


def _insert_first(connection: Connection, call: Call) -> call_store.Loaded | None:
    """Store a new call at its first step, unless it has ended already (None). Its key is
    replaced at the end, so a first step answered after the final status callback (a
    Twilio retry, or a request held behind others while the caller hung up) would find
    no call and store it a second time; the end's erasure request (`_status`'s claim)
    says it has ended. One statement, INSERT ... SELECT ... WHERE NOT EXISTS: no round
    trip added, and no separate look for a claim to slip past (a claim made while the
    statement runs is committed with the call under the same key, before its end, and
    the INSERT meets that key: the stored call is taken)."""
    settings = get_voice().settings
    if not settings.twilio_erase_calls or call.is_test or not call.live_call_sid:
        return _insert(connection, call)  # no claim is made for such a call
    values = _column_values(call)
    params = {f"v_{column}": value for column, value in values.items()}
    params["digest"] = get_core().cipher.digest(call.live_call_sid)
    try:
        row = connection.execute(_insert_unless_ended(tuple(values)), params).mappings().first()
    except IntegrityError:  # stored by a request of the same call meanwhile: that one
        connection.rollback()
        stored = call_store.load(connection, call.call_key)
        if stored is None:
            raise
        return stored
    return None if row is None else call_store.Loaded(dict(row))


def _insert_unless_ended(columns: tuple[str, ...]) -> Any:
    statement = _INSERTS_UNLESS_ENDED.get(columns)
    if statement is None:
        calls = cast(Table, Call.__table__)
        erasures = cast(Table, TwilioErasure.__table__)
        values = [bindparam(f"v_{column}", type_=calls.c[column].type) for column in columns]
        ended = select(erasures.c.id).where(erasures.c.call_sid_digest == bindparam("digest"))
        statement = (
            insert(calls)
            .from_select(list(columns), select(*values).where(~ended.exists()))
            .returning(*calls.columns)
        )
        _INSERTS_UNLESS_ENDED[columns] = statement
    return statement


def _column_values(call: Call) -> dict[str, Any]:
    """The columns set on an unsaved Call; the rest take their column defaults."""
    state = inspect(call).dict
    return {
        column.key: state[column.key] for column in Call.__table__.columns if column.key in state
    }


def step(step_id: str) -> Response:
    return answer_twiml(lambda params: _step(params, step_id))


def _step(params: TwilioParams, step_id: str) -> VoiceResponse | str:
    runtime = get_voice()
    seq = request.args.get("seq", type=int)
    with call_store.connect() as connection:
        loaded = call_store.load(connection, _key(params)) if params.call_sid else None
        if loaded is None:
            # The welcome was answered without a write: the first step stores the call.
            call, flow = _new_call(params)
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
            stored = call_store.load(connection, _key(params))
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
        loaded = call_store.load(connection, _key(params)) if params.call_sid else None
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
        loaded = call_store.load(connection, _key(params)) if params.call_sid else None
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


def status() -> Response:
    # Twilio does not retry a status callback; a call whose end was not recorded is
    # ended by the sweep (ivr/voice/sweep.py).
    return answer_twiml(_status, when_failed="quiet")


def _status(params: TwilioParams) -> VoiceResponse:
    if params.call_status not in call_life.FINAL_STATUSES or not params.call_sid:
        return VoiceResponse()  # not over yet: status callbacks come before the end too
    settings = get_voice().settings
    session = get_session()
    # The session's connection: the erasure request, the call's end and its events'
    # times are written in one transaction.
    connection = session.connection()
    # Twilio's own record of the call (the From number in its call log) is deleted by
    # `ivr erase-calls`; until then the CallSid is kept only encrypted, in the outbox.
    # That row is the claim on the call's end, made first and atomically: a repeated
    # final callback, even one arriving at the same instant, finds it and does nothing
    # (an ended call's key is random, so the call itself is not found by it).
    erase_at_twilio = settings.twilio_erase_calls and not is_test_call_sid(
        settings.secret_key, params.call_sid
    )
    if erase_at_twilio and not twilio_erasure.claim(
        connection, get_core().cipher, params.call_sid, utcnow()
    ):
        return VoiceResponse()  # already ended, or being ended by a copy of this callback
    loaded = call_store.load(connection, _key(params))
    if loaded is None:
        # Hung up during the welcome, which stored nothing (`_incoming`): stored now, so
        # the call is in the figures, abandoned at its first step. Committed with the
        # claim, before the end: if the end fails, the sweep ends the call.
        loaded = _insert_in_transaction(connection, _new_call(params)[0])
        session.commit()
        connection = session.connection()
    call = loaded.call
    if call.ended_at is not None:
        return VoiceResponse()  # already recorded
    call_life.end(session, call, params.call_status, params.call_duration)
    if not call_store.save(connection, loaded):
        raise StaleDataError("the call moved while its end was recorded")
    session.commit()
    return VoiceResponse()


def _insert_in_transaction(connection: Connection, call: Call) -> call_store.Loaded:
    """Store a new call within the connection's transaction (which `_insert` would roll
    back on a conflict); if its first step has stored it meanwhile, the stored one."""
    insert = insert_on_conflict(connection)
    statement = (
        insert(Call)
        .values(_column_values(call))
        .on_conflict_do_nothing(index_elements=["call_key"])
        .returning(*Call.__table__.columns)
    )
    row = connection.execute(statement).mappings().first()
    if row is not None:
        return call_store.Loaded(dict(row))
    stored = call_store.load(connection, call.call_key)
    if stored is None:
        raise LookupError("the call stored by its first step is gone")
    return stored


def fallback() -> Response:
    """Twilio's fallback URL: reached when our Voice URL failed (a worker killed, a
    timeout). No database here: the caller is asked to hold while we try again."""
    runtime = get_voice()
    params = TwilioParams.from_request(request)
    flow = runtime.flows.for_number(params.to)
    language = flow.entry(params.to).language
    online = runtime.settings.online_report_url
    return _twiml(outage.hold_and_try_again(flow, language, online, 0))


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
