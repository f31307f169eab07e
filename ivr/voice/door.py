"""The door every Twilio request comes through: the signature, then the caller's
identifiers cut away, so that nothing behind it can store or log them."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from urllib.parse import quote

from flask import Request, Response, request
from twilio.request_validator import RequestValidator

from ivr.voice.runtime import get_voice

log = logging.getLogger("ivr.voice.door")


# Twilio's parameters are a few dozen short fields (a SpeechResult is a sentence or
# two): far under this. The proxy refuses more at the same size (deploy/nginx).
MAX_BODY_BYTES = 16 * 1024


# Werkzeug's quoting of a path: what stays as it is (the URL spec's path characters, and
# % for what is already escaped). Only for a server that does not say what it received.
_PATH_SAFE = "!$&'()*+,/:;=@%"


def public_url(request: Request, public_base_url: str) -> str:
    """The URL Twilio requested, which is what it signed (behind a TLS proxy too).

    The path and query string exactly as they arrived: the request line's own target,
    which gunicorn (RAW_URI) and Werkzeug's servers (REQUEST_URI) keep. Twilio escapes
    some characters that we would not (`%21` for `!`, `%27` for `'`) and may write an
    escape in lower case (`%c3%b4`); decoding and re-escaping, as `request.url` or
    `quote()` do, gives another URL, and a genuine request would be refused. Only a
    server that keeps neither gets the re-escaped path (correct for the common case)."""
    base = public_base_url.rstrip("/") or f"{request.scheme}://{request.host}"
    environ = request.environ
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if target.startswith("/"):
        return base + target
    path = quote(request.script_root + request.path, safe=_PATH_SAFE)
    query = request.query_string.decode("latin-1")
    return base + path + (f"?{query}" if query else "")


def signature_is_valid(request: Request, validator: RequestValidator, public_base_url: str) -> bool:
    """Whether Twilio signed this request. An unsigned request is refused on its
    headers alone: its body is never read."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    url = public_url(request, public_base_url)
    # RequestValidator.validate always computes two signatures (the URL with and without
    # its port). Twilio signs the URL it requested, which is `url` as we received it, so
    # one computation settles nearly every request; validate() remains for the rest (a
    # proxy that dropped or added the port). It accepts nothing that validate() would
    # refuse, for less work (docs/benchmarks.md).
    expected = validator.compute_signature(url, request.form)
    if hmac.compare_digest(expected.encode(), signature.encode()):
        return True
    return validator.validate(url, request.form, signature)


def require_twilio_signature() -> Response | None:
    """The voice blueprints' before_request: only Twilio's signed requests go further."""
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


# Control characters (NUL among them) have no place in anything a caller sends: PostgreSQL
# refuses a NUL in text outright, and the rest would forge lines in a log.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Twilio's durations and queue times are seconds of one call: anything longer than a day
# is not a real value, and past PostgreSQL's integer range it would fail the write.
_MAX_SECONDS = 86_400


def clean_text(value: str, limit: int) -> str:
    """A caller-sent value with control characters removed, cut to `limit` characters."""
    return _CONTROL.sub("", value[: limit * 2])[:limit]


def _seconds(value: str | None) -> int | None:
    """A count of seconds from Twilio, or None when it is missing or not a sane number."""
    if value is None:
        return None
    value = value.strip()
    # ASCII digits only: no sign, no spaces, no "1e9", and no "²", which str.isdigit
    # takes for a digit and int() refuses (a ValueError here, before any view, was a 500).
    if not (value.isascii() and value.isdigit()) or len(value) > 6:
        return None
    number = int(value)
    return number if number <= _MAX_SECONDS else None


@dataclass(frozen=True)
class TwilioParams:
    """The parameters the helpline uses. From, Caller and every From*/Caller*
    parameter (number, city, state, postcode, country) are deliberately absent.
    Every value is cleaned here, at the door: no control characters, bounded lengths,
    numbers within a call's range, so nothing behind it can fail on what a request
    carried."""

    call_sid: str
    to: str
    call_status: str
    digits: str
    speech: str
    call_duration: int | None
    queue_result: str
    queue_time: int
    idempotency_token: str

    @classmethod
    def from_request(cls, request: Request) -> TwilioParams:
        form = request.form
        return cls(
            call_sid=clean_text(form.get("CallSid", ""), 64),
            to=clean_text(form.get("To", "") or form.get("Called", ""), 32),
            call_status=clean_text(form.get("CallStatus", ""), 32),
            digits=clean_text(form.get("Digits", ""), 32),
            speech=clean_text(form.get("SpeechResult", ""), 200),
            call_duration=_seconds(form.get("CallDuration")),
            queue_result=clean_text(form.get("QueueResult", ""), 32),
            queue_time=_seconds(form.get("QueueTime")) or 0,
            idempotency_token=clean_text(
                request.headers.get("I-Twilio-Idempotency-Token", ""), 200
            ),
        )


def call_key(secret: str, call_sid: str) -> str:
    """The key a call is stored under: an HMAC of the CallSid, so that once the
    call has ended our records cannot be joined to Twilio's call log."""
    return hmac.new(secret.encode(), call_sid.encode(), hashlib.sha256).hexdigest()
