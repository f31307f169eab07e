"""Following a report up by phone: the first menu's "have a reference", the reference
and code on the keypad, the lock shared with the web, and the handler who takes the
call getting that report, not a new one."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ivr.core import followup
from ivr.core.db import get_engine
from ivr.models import AuditEntry, Call, CallEvent, Report, ReportMessage, User
from ivr.sim.twilio import heard, spoken
from ivr.voice.call_end import LIVE_ONLY_ANSWERS
from ivr.voice.door import call_key
from ivr.voice.flows.moves import PENDING
from tests.console_helpers import CONSOLE_SETTINGS, add_user, csrf_token, sign_in


@pytest.fixture
def settings_overrides(settings_overrides):  # type: ignore[no-untyped-def]
    return {**settings_overrides, **CONSOLE_SETTINGS}


def _report_with_code(app, question: str | None = None) -> tuple[Report, str]:  # type: ignore[no-untyped-def]
    with Session(get_engine(app), expire_on_commit=False) as session:
        report = Report(reference="7KQD-M3XA", origin="online", status="disseminated", extra={})
        session.add(report)
        session.flush()
        code = followup.issue_code(session, report)
        if question:
            boss = User(username="boss", password_hash="x", role="supervisor")
            session.add(boss)
            session.flush()
            asked = ReportMessage(report_id=report.id, kind="question", text=question)
            asked.status, asked.force_id, asked.created_by_id = "open", "kent", boss.id
            session.add(asked)
        session.commit()
        return report, code


def _follow_up(new_call, reference_keys: str, code: str, language: str = "en"):  # type: ignore[no-untyped-def]
    """By phone: the welcome, in the caller's language, names 8 for a reference; the
    reporter presses it (during the welcome, or at the first question)."""
    call = new_call(to_number="+448000850001" if language == "cy" else "+448000850000")
    first = call.start()
    welcome = " ".join(spoken(first if language == "cy" else call.press("1")))
    assert ("cyfeirnod, 8." if language == "cy" else "a reference, 8.") in welcome
    asked = " ".join(spoken(call.press("8")))
    typing = {"en": "Type your reference on the keypad", "cy": "Teipiwch eich cyfeirnod"}
    assert typing[language] in asked
    asked = " ".join(spoken(call.press(reference_keys + "#")))
    code_words = {"en": "twelve-digit secret code", "cy": "cod cyfrinachol deuddeg digid"}
    assert code_words[language] in asked
    return call, call.press(code + "#")


def _stored(app, call) -> Call:  # type: ignore[no-untyped-def]
    key = call_key(app.config["IVR_SETTINGS"].secret_key, call.call_sid)
    with Session(get_engine(app)) as session:
        return session.scalars(select(Call).where(Call.call_key == key)).one()


def test_a_reporter_rings_with_reference_and_code_and_is_queued_with_the_report(app, new_call):
    report, code = _report_with_code(app, question="Which car?")
    call, twiml = _follow_up(new_call, "75736392", code)
    heard = " ".join(spoken(twiml))
    assert "We have found your report" in heard and "have a question for you" in heard
    assert twiml.find("Enqueue") is not None
    stored = _stored(app, call)
    assert stored.answers["followup_report"] == report.id and stored.status == "queued"
    # Neither the reference nor the code is anywhere in the call's record or events.
    with Session(get_engine(app)) as session:
        values = [e.value or "" for e in session.scalars(select(CallEvent))]
    assert not any("7573" in v or code[:6] in v for v in values)
    assert "75736392" not in str(stored.answers) and code not in str(stored.answers)


def test_a_welsh_reporter_follows_up_by_phone_in_welsh(app, new_call):
    """Issue 11's gap: the offer was English only, on the main number's first menu."""
    report, code = _report_with_code(app, question="Pa gar?")
    call, twiml = _follow_up(new_call, "75736392", code, language="cy")
    said = heard(twiml)
    assert {(h.voice, h.language) for h in said} == {("Polly.Gwyneth", "cy-GB")}
    words = " ".join(h.text for h in said)
    assert "Rydym wedi dod o hyd i'ch adroddiad" in words and "gwestiwn i chi" in words
    assert twiml.find("Enqueue") is not None
    stored = _stored(app, call)
    assert stored.language == "cy" and stored.answers["followup_report"] == report.id
    # The whisper tells the handler, in Welsh, that the report is on their screen.
    from ivr.voice.handler_leg import whisper_text

    with app.app_context():
        assert "Yn dilyn ei adroddiad" in whisper_text(stored)


def test_the_offer_is_spoken_in_english_after_english_is_chosen(new_call):
    call = new_call()
    menu = " ".join(spoken(call.start()))
    assert "reference" not in menu.lower()  # the language menu is the language only
    welcome = heard(call.press("1"))
    assert any("a reference, 8." in h.text and h.voice == "Polly.Amy" for h in welcome)


def test_a_wrong_code_is_asked_again_then_goes_to_a_handler_anyway(app, new_call):
    _report_with_code(app)
    call, twiml = _follow_up(new_call, "75736392", "000000000000")
    assert "could not find a report" in " ".join(spoken(twiml))
    assert "Type your reference" in " ".join(spoken(twiml))
    call.press("75736392#")
    call.press("000000000001#")
    call.press("75736392#")
    last = call.press("000000000002#")
    assert last.find("Enqueue") is not None  # never hung up on
    assert "followup_report" not in _stored(app, call).answers


def test_the_lock_counts_web_and_phone_together(app, client, new_call):
    report, code = _report_with_code(app)
    with Session(get_engine(app)) as session:
        for _ in range(followup.MAX_FAILURES - 1):
            followup.check(session, report.reference, "123412341234", "online")
        session.commit()
    call, twiml = _follow_up(new_call, "75736392", "999999999999")  # the fifth: locks
    call.press("75736392#")
    after_lock = call.press(code + "#")  # the right code, but locked
    assert "could not find a report" in " ".join(spoken(after_lock))
    with Session(get_engine(app)) as session:
        lock = session.scalars(select(AuditEntry).where(AuditEntry.action == "lock")).one()
        assert lock.record_id == report.reference and "phone" in lock.reason


def test_the_handler_who_takes_a_follow_up_call_gets_the_report(app, client, new_call):
    report, code = _report_with_code(app, question="Which car?")
    _follow_up(new_call, "75736392", code)
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    token = csrf_token(client, "/console/queue")
    taken = client.post("/console/queue/take-next", data={"csrf_token": token})
    assert taken.headers["Location"].endswith("/console/reports/7KQD-M3XA/follow-up")
    page = client.get(taken.headers["Location"]).get_data(as_text=True)
    assert "Which car?" in page
    with Session(get_engine(app)) as session:
        assert session.scalars(select(Report)).all()[0].id == report.id  # no new report
        assert len(session.scalars(select(Report)).all()) == 1


def test_the_whisper_tells_the_handler_it_is_a_follow_up(app):
    from ivr.voice.handler_leg import whisper_text

    with app.app_context():
        call = Call(line="helpline", language="cy", answers={"followup_report": 1})
        assert "Yn dilyn ei adroddiad" in whisper_text(call)
        call.language = "en"
        assert "Following up their report" in whisper_text(call)
        assert "Force:" not in whisper_text(call)


def _call_tables(app) -> str:  # type: ignore[no-untyped-def]
    """Every value of every row of the call tables, as text."""
    with get_engine(app).connect() as conn:
        rows = [
            *conn.execute(text("SELECT * FROM calls")),
            *conn.execute(text("SELECT * FROM call_events")),
        ]
    return "\n".join(repr(tuple(row)) for row in rows)


def test_once_the_call_has_ended_it_names_no_report(app, new_call, stored_call):
    # Its hour and length, matched with the phone company's record, would give the
    # number of the reporter of the report it named.
    report, code = _report_with_code(app)
    call, _twiml = _follow_up(new_call, "75736392", code)
    assert _stored(app, call).answers["followup_report"] == report.id
    call.leave_queue("hangup", queue_time=30)
    call.hang_up(duration=95)
    row = stored_call(call)
    assert row.status == "ended" and "followup_report" not in row.answers
    assert f"'followup_report': {report.id}" not in _call_tables(app).replace('"', "'")


def test_a_reference_typed_before_hanging_up_is_not_kept(app, new_call, stored_call):
    _report_with_code(app)
    call = new_call()
    call.start()
    call.press("1")
    call.press("8")
    call.press("75736392#")  # the reference, waiting for the code
    assert "75736392" in str(_stored(app, call).answers)  # kept while the call runs
    call.hang_up()
    assert "75736392" not in _call_tables(app)
    assert PENDING in LIVE_ONLY_ANSWERS  # the end knows the flow's name for it
