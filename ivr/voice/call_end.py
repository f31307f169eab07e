"""What a call keeps of the caller's own input while it runs, and of itself once over.

While it runs: a webhook retried by Twilio must be recognised, so each step request is
remembered by a keyed hash (HMAC under the secret key) of what it carried, never by the
digits or words themselves: a contact number typed and then abandoned, or a sentence
with an address said at the force question, is not kept in clear outside the answer it
was asked for.

Once over, nothing we keep can be matched to the phone company's record of the call:
- `call_key` (an HMAC of the CallSid, which would find the call again from Twilio's log)
  is replaced by a random value; the CallSid, the last request's hash and Twilio's
  idempotency token are erased, and so are answers only a live call needs (an
  unconfirmed value, the report a follow-up call is about);
- its times are kept to the hour and its durations to the waiting-time histogram's
  steps (ivr/core/coarse_time.py says why that is what the figures need); its step
  events keep their order (`seq`) and the call's hour.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from ivr.core.coarse_time import to_the_hour, wait_step
from ivr.models import Call, CallEvent, CallOutcome, CallStatus, utcnow

ENDED_KEY_PREFIX = "ended-"
# Answers a live call needs and an ended one must not keep: a value typed or said and
# not yet confirmed (ivr/voice/flows/moves.py, PENDING: a report's reference waiting
# for its code, a force heard), and the report a reporter following up by phone signed
# in to, which the call's hour and length would tie to the phone company's record of
# the reporter's call.
LIVE_ONLY_ANSWERS = ("_pending", "followup_report")
_EVENT_TIMES = (
    update(CallEvent)
    .where(CallEvent.call_id == bindparam("call"))
    .values(at=bindparam("at", type_=CallEvent.at.type))
)


def request_key(secret: str, step_id: str, seq: int | None, digits: str, speech: str) -> str:
    """The same request gives the same key; the key gives back nothing of the input."""
    carried = "\x1f".join((step_id, str(seq), digits, speech))
    return hmac.new(secret.encode(), carried.encode(), hashlib.sha256).hexdigest()


def queue_wait(call: Call, twilio_queue_time: int, now: datetime) -> int | None:
    """Seconds the caller waited in the queue. Twilio's QueueTime says 0 for a caller
    taken out of the queue by a redirect (a handler answering from the console) however
    long they waited, and is missing if the request lacked it: then our own clock, to
    the handler's answer if there was one, else to now."""
    if twilio_queue_time > 0 and call.answered_at is None:
        return twilio_queue_time
    if call.queued_at is None:
        return twilio_queue_time or None
    until = call.answered_at or now
    return max(0, int((until - call.queued_at) / timedelta(seconds=1)))


def end(session: Session, call: Call, twilio_status: str, duration: int | None) -> None:
    """The call is over (Twilio's status callback said so, or the sweep decided it,
    ivr/voice/sweep.py): its outcome as it stood, then `forget`."""
    now = utcnow()
    call.ended_at = now
    call.duration_seconds = duration
    if call.status == CallStatus.IN_FLOW and call.outcome is None:  # not turned away
        call.outcome = CallOutcome.ABANDONED
        call.abandoned_step = call.step
    elif call.status == CallStatus.QUEUED:
        call.outcome = call.outcome or CallOutcome.LEFT_QUEUE
        if call.queue_seconds is None and call.queued_at is not None:
            call.queue_seconds = int((now - call.queued_at) / timedelta(seconds=1))
    elif call.status == CallStatus.ANSWERED:
        call.outcome = call.outcome or CallOutcome.ANSWERED
        if call.queue_seconds is None:  # no queue result came: by our clock, to the answer
            call.queue_seconds = queue_wait(call, 0, now)
    if twilio_status == "failed":
        call.outcome = call.outcome or CallOutcome.FAILED
    call.status = CallStatus.ENDED
    if not (call.answers or {}).get("contact_confirmed"):
        call.contact_number_enc = None
    # Nothing kept may match Twilio's record of the call: key, CallSid, fine times.
    forget(session, call)


def forget(session: Session, call: Call) -> None:
    """At the call's end: no key, identifier or fine time that Twilio's record could match,
    and no report the call was about."""
    call.call_key = ENDED_KEY_PREFIX + secrets.token_hex(29)  # 64 characters, unguessable
    call.live_call_sid = None
    call.last_request_key = None
    call.last_idempotency_token = None
    if any(name in (call.answers or {}) for name in LIVE_ONLY_ANSWERS):
        call.answers = {
            name: value for name, value in call.answers.items() if name not in LIVE_ONLY_ANSWERS
        }
    for name in ("started_at", "queued_at", "answered_at", "ended_at"):
        setattr(call, name, to_the_hour(getattr(call, name)))
    if call.duration_seconds is not None:
        call.duration_seconds = wait_step(call.duration_seconds)
    if call.queue_seconds is not None:
        call.queue_seconds = wait_step(call.queue_seconds)
    # Core on the session's connection (same transaction): the ORM's bulk UPDATE machinery
    # cost more than the statement.
    session.connection().execute(_EVENT_TIMES, {"call": call.id, "at": call.started_at})
