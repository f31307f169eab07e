"""The whisper to the handler is spoken in the call's language, with its voice."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.models import Call


def _whisper(app, caller):
    with Session(get_engine(app)) as session:
        call_id = session.scalars(select(Call.id)).one()
    return list(caller.follow(f"/voice/handler/whisper?call={call_id}").iter("Say"))


def test_a_welsh_callers_whisper_is_in_welsh(app, new_call):
    caller = new_call(to_number="+448000850001")  # the Welsh-first number
    caller.start()
    for key in ("9", "1", "1"):  # force not known, at risk, anonymous
        caller.press(key)
    [say] = _whisper(app, caller)
    assert (say.get("voice"), say.get("language")) == ("Polly.Gwyneth", "cy-GB")
    assert "Galwr" in say.text and "Brys" in say.text and "ddienw" in say.text


def test_an_english_callers_whisper_is_in_english(app, new_call):
    caller = new_call()
    caller.start()
    for key in ("1", "1", "1", "2", "1"):  # English, the Met, nobody at risk, anonymous
        caller.press(key)
    [say] = _whisper(app, caller)
    assert (say.get("voice"), say.get("language")) == ("Polly.Amy", "en-GB")
    assert "Metropolitan Police Service" in say.text and "anonymous" in say.text
