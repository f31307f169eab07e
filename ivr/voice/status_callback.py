"""Twilio's status callback: a call's end, recorded once, whatever Twilio repeats.

Twilio does not retry a status callback; a call whose end was not recorded is ended
by the sweep (ivr/voice/sweep.py).
"""

from __future__ import annotations

from flask import Response
from sqlalchemy.orm.exc import StaleDataError
from twilio.twiml.voice_response import VoiceResponse

from ivr.core.db import get_session
from ivr.core.runtime import get_core
from ivr.models import utcnow
from ivr.voice import call_life, call_store, new_calls, twilio_erasure
from ivr.voice.answering import answer_twiml
from ivr.voice.door import TwilioParams
from ivr.voice.marked_calls import is_test_call_sid
from ivr.voice.runtime import get_voice


def status() -> Response:
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
    loaded = call_store.load(connection, new_calls.key(params))
    if loaded is None:
        # Hung up during the welcome, which stored nothing (webhooks._incoming): stored
        # now, so the call is in the figures, abandoned at its first step. Committed with
        # the claim, before the end: if the end fails, the sweep ends the call.
        loaded = call_store.store_in_transaction(connection, new_calls.new_call(params)[0])
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
