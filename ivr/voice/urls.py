"""Every URL Twilio is given: the webhooks' routes and the URLs written into TwiML.

The one place a `/voice/...` path is spelt. The blueprints route these paths, the
renderer and the gateway write them into TwiML, `ivr serve` prints the ones a
Twilio number is pointed at, and the tests post to them.
"""

from __future__ import annotations

from urllib.parse import urlencode

# Every Twilio-facing URL lives under this prefix (the handler's leg too).
PREFIX = "/voice"

# What a Twilio number is pointed at (its Voice URL, fallback URL and status callback).
INCOMING = f"{PREFIX}/incoming"
FALLBACK = f"{PREFIX}/fallback"
STATUS = f"{PREFIX}/status"

# What the caller's TwiML asks for while they wait in the queue.
WAIT = f"{PREFIX}/wait"
QUEUE_CHOICE = f"{PREFIX}/queue-choice"
QUEUE_LEFT = f"{PREFIX}/queue-left"

# Where a caller who held through a failure is picked up again (ivr/voice/outage.py).
RESUME = f"{PREFIX}/resume"

# Flask rules (with their variable parts) for the URLs built by the functions below.
STEP_RULE = f"{PREFIX}/step/<step_id>"
WHISPER = f"{PREFIX}/handler/whisper"
AFTER_DIAL = f"{PREFIX}/handler/after-dial"


def is_webhook_path(path: str) -> bool:
    return path.startswith(PREFIX + "/")


def step(step_id: str, seq: int, tries: int = 0) -> str:
    """Where a step's answer goes: the step and the call's sequence number, so a late or
    repeated answer is recognised as such; after a failure, the tries so far at holding
    and trying again (ivr/voice/outage.py), so a step that fails every time ends."""
    query = {"seq": seq, "try": tries} if tries > 0 else {"seq": seq}
    return f"{PREFIX}/step/{step_id}?{urlencode(query)}"


def whisper(base_url: str, call_id: int) -> str:
    """What the handler hears before being connected. Absolute: it goes into a REST
    request to Twilio, not into TwiML answering one of its requests."""
    return f"{base_url.rstrip('/')}{WHISPER}?call={call_id}"


def after_dial(base_url: str, call_id: int, handler_id: int) -> str:
    """Where the caller's leg goes when the handler's phone stops ringing. It names the
    handler rung, so that only their unanswered phone gives the caller back to the queue."""
    return f"{base_url.rstrip('/')}{AFTER_DIAL}?call={call_id}&handler={handler_id}"


def resume(tries: int) -> str:
    """Where a caller goes after holding through a failure: their `tries`-th try."""
    return f"{RESUME}?try={tries}"
