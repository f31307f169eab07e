"""How every voice webhook answers: TwiML, within the deadline, and never an error.

A view's work runs inside `answer_twiml`, which turns any failure (database down, a
bug, an unknown call) into spoken words with HTTP 200: a caller never hears an error.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from pathlib import Path

from flask import Response, request
from twilio.twiml.voice_response import VoiceResponse

from ivr.voice import outage
from ivr.voice.door import TwilioParams
from ivr.voice.runtime import get_voice

log = logging.getLogger("ivr.voice.webhooks")


def twiml(response: VoiceResponse | str) -> Response:
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
        return twiml(outage.within_deadline(lambda: build(params)))
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
        return twiml(
            outage.keep_holding(flow, language, online, runtime.settings.queue_pause_seconds)
        )
    if when_failed == "quiet":
        return twiml(VoiceResponse())
    tries = request.args.get("try", 0, type=int) or 0
    return twiml(outage.hold_and_try_again(flow, language, online, tries))
