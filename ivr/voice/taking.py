"""The queue and taking a caller out of it: one handler per caller, whatever the timing.

The queue's order is written once, here (`QUEUE_KEYS`): the handlers' list, the next
caller to take and the place a waiting caller hears all follow it. Taking a call is
the console's "take" button without the page around it: claim the caller (a
conditional UPDATE in ivr/voice/call_life.py: the database decides which of two
simultaneous takes wins), then ask Twilio to ring the handler's phone; only the
winner does. Opening the report is the console's part (voice never imports records).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Connection, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from ivr.core.runtime import get_core
from ivr.models import Call, CallStatus
from ivr.voice import call_life
from ivr.voice.gateway import GATEWAY, CallGateway, GatewayError, connect_twiml
from ivr.voice.runtime import get_voice

# Real callers before test calls (the console's, see ivr/voice/marked_calls.py), then
# urgent first, then the longest wait: a test call never keeps a real caller waiting.
# (column, ascending)
QUEUE_KEYS: tuple[tuple[Any, bool], ...] = (
    (Call.is_test, True),
    (Call.urgent, False),
    (Call.queued_at, True),
    (Call.id, True),
)
QUEUE_ORDER = tuple(column.asc() if up else column.desc() for column, up in QUEUE_KEYS)


class NotTaken(Exception):
    """The caller could not be taken; one line for the handler, saying where the caller is."""


def waiting_calls(session: Session, limit: int = 200) -> list[Call]:
    """Callers waiting now, in the order handlers take them."""
    query = select(Call).where(Call.status == CallStatus.QUEUED).order_by(*QUEUE_ORDER).limit(limit)
    return list(session.scalars(query))


def next_waiting_id(session: Session) -> int | None:
    query = select(Call.id).where(Call.status == CallStatus.QUEUED).order_by(*QUEUE_ORDER).limit(1)
    return session.scalar(query)


def ahead_of() -> ColumnElement[bool]:
    """Rows that come before a call in the queue's order: those that win on the first key
    where the two differ. The call's values are bound by name (`mine_<column>`)."""
    conditions = []
    same_so_far: list[ColumnElement[bool]] = []
    for column, ascending in QUEUE_KEYS:
        mine = bindparam(f"mine_{column.key}", type_=column.type)
        comes_first = column < mine if ascending else column > mine
        conditions.append(and_(*same_so_far, comes_first))
        same_so_far.append(column == mine)
    return or_(*conditions)


# Built once, values bound at execution: the wait URL asks it for every queued caller.
_POSITION = select(func.count(Call.id)).where(
    Call.status == CallStatus.QUEUED, Call.line == bindparam("line"), ahead_of()
)


def queue_position(session: Session | Connection, call: Call) -> int:
    """The caller's place in their line's queue, 1 for the next to be taken."""
    if call.queued_at is None:
        return 1
    values = {f"mine_{column.key}": getattr(call, column.key) for column, _up in QUEUE_KEYS}
    return int(session.scalar(_POSITION, {"line": call.line, **values}) or 0) + 1


def take_call(
    session: Session, call_id: int, handler_id: int, handler_phone: str, base_url: str
) -> Call:
    """Give the caller to this handler and ring the handler's phone (not for a test
    call: that line is the console's simulation). Raises NotTaken if someone else took
    the caller, or if Twilio could not ring the phone: then the caller is back in the
    queue, in their place."""
    if not handler_phone:
        raise NotTaken("Add the phone you take calls on (Your account) before taking a caller.")
    if not call_life.answer(session, call_id, handler_id):
        raise NotTaken("Another handler has just taken that caller, or they hung up.")
    call = session.get(Call, call_id)
    if call is None:  # pragma: no cover - claimed a row that cannot vanish
        raise NotTaken("That caller's line is no longer open.")
    session.refresh(call)
    try:
        if not call.live_call_sid:
            raise GatewayError("That caller's line is no longer open.")
        if not call.is_test:
            _bring_to_phone(call, handler_id, handler_phone, base_url)
    except GatewayError as exc:
        call_life.release(session, call.id, handler_id)
        raise NotTaken(f"{exc} The caller is still in the queue.") from None
    return call


def _bring_to_phone(call: Call, handler_id: int, phone: str, base_url: str) -> None:
    voice = get_voice().flows.for_line(call.line).voice_for(call.language)
    twiml = connect_twiml(
        phone,
        get_core().settings.twilio_caller_id,
        base_url,
        call.id,
        handler_id,
        (voice.voice, voice.language),
    )
    gateway: CallGateway = current_app.extensions[GATEWAY]
    gateway.redirect_call(call.live_call_sid or "", twiml)
