"""The whisper to the handler is spoken in the call's language, with its voice."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.models import Call
from tests.conftest import walk


def _whisper(app, caller):
    with Session(get_engine(app)) as session:
        call_id = session.scalars(select(Call.id)).one()
    return list(caller.follow(f"/voice/handler/whisper?call={call_id}").iter("Say"))


def test_a_welsh_callers_whisper_is_in_welsh(app, new_call):
    caller = new_call(to_number="+448000850001")  # the Welsh-first number
    walk(caller, start="welcome", language="cy", role="volunteer", force="gwent", urgent=True)
    [say] = _whisper(app, caller)
    assert (say.get("voice"), say.get("language")) == ("Polly.Gwyneth", "cy-GB")
    assert "Galwr" in say.text and "Brys" in say.text and "ddienw" in say.text
    assert "Rôl: gwirfoddolwr." in say.text and "Heddlu: Gwent." in say.text
    assert "Ynghylch: llwgrwobrwyo." in say.text


def test_an_english_callers_whisper_is_in_english(app, new_call):
    caller = new_call()
    walk(caller, category="personal_advantage")  # an officer, the Met, nobody at risk
    [say] = _whisper(app, caller)
    assert (say.get("voice"), say.get("language")) == ("Polly.Amy", "en-GB")
    assert "Metropolitan Police Service" in say.text and "anonymous" in say.text
    assert "Reporting an officer." in say.text and "About: Personal advantage." in say.text
