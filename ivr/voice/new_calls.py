"""A call as it rings in: the key it is stored under, and its first state, not stored yet."""

from __future__ import annotations

from ivr.core.runtime import get_core
from ivr.models import Call
from ivr.voice import call_life, call_store
from ivr.voice.door import TwilioParams, call_key
from ivr.voice.flows.catalogue import Flow
from ivr.voice.marked_calls import is_test_call_sid
from ivr.voice.runtime import get_voice


def key(params: TwilioParams) -> str:
    return call_key(get_core().settings.secret_key, params.call_sid)


def new_call(params: TwilioParams) -> tuple[Call, Flow]:
    """A call as it starts on the dialled number, not stored (yet)."""
    runtime = get_voice()
    if not params.call_sid:
        raise ValueError("a call without CallSid")
    flow = runtime.flows.for_number(params.to)
    call = call_store.transient_call(
        {
            "call_key": key(params),
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
