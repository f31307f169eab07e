"""The queue page and taking a caller: order, context, the Twilio request, and
two handlers at once never both getting the same caller."""

from __future__ import annotations

import dataclasses
import threading
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.models import AuditEntry, Call, Report
from ivr.voice.call_life import answer as claim
from ivr.voice.gateway import GATEWAY
from tests.console_helpers import (
    CONSOLE_SETTINGS,
    HELPLINE,
    add_user,
    csrf_token,
    queue_a_caller,
    sign_in,
)


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, **CONSOLE_SETTINGS}


def _gateway(app):
    return app.extensions[GATEWAY]


def _after_dial_url(app) -> str:
    """The Dial's action in the last request to Twilio: where Twilio goes when the
    handler's phone stops ringing."""
    _call_sid, twiml = _gateway(app).requests[-1]
    return ET.fromstring(twiml).find("Dial").get("action")  # noqa: S314


def test_queue_shows_waiting_callers_urgent_first(app, client, new_call):
    calm = queue_a_caller(new_call)  # the Met, not urgent, anonymous
    urgent = queue_a_caller(new_call, force="kent", urgent=True)
    assert calm.call_sid != urgent.call_sid
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    page = client.get("/console/queue").get_data(as_text=True)
    assert page.index("Kent") < page.index("Metropolitan"), "urgent caller first"
    assert "Urgent" in page
    assert "Anonymous" in page  # role and category: the handler asks, so no columns
    rows = client.get("/console/queue/rows").get_data(as_text=True)
    assert "<html" not in rows and rows.count("<tr") == 2


def test_the_queue_page_works_without_javascript(app, client):
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    page = client.get("/console/queue").get_data(as_text=True)
    assert 'href="/console/queue"' in page  # the refresh link
    assert "Nobody is waiting." in page
    assert '<script src="/console/static/queue.js"' in page


def test_taking_a_caller_rings_the_handlers_phone_and_opens_the_report(app, client, new_call):
    caller = queue_a_caller(new_call, role="staff", category="sexual")
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    # The queue shows what the caller answered: force, role, category (and the words
    # they pressed for it), anonymity.
    rows = client.get("/console/queue/rows").get_data(as_text=True)
    for shown in ("Metropolitan Police Service", "Staff or PCSO",
                  "Sexual misconduct or abuse of position", "Caller pressed: “sexual misconduct”",
                  "Anonymous"):  # fmt: skip
        assert shown in rows, shown
    token = csrf_token(client, "/console/queue")
    response = client.post("/console/queue/take-next", data={"csrf_token": token})
    assert response.status_code == 302
    assert "/console/reports/" in response.headers["Location"]
    assert "why=taking" in response.headers["Location"]

    ((call_sid, twiml),) = _gateway(app).requests
    assert call_sid == caller.call_sid
    root = ET.fromstring(twiml)  # noqa: S314
    number = root.find("Dial/Number")
    assert number is not None and number.text == "+447912345678"
    assert "/voice/handler/whisper?call=" in number.get("url", "")
    # The handler's phone shows the helpline's number, never the caller's.
    assert root.find("Dial").get("callerId") == HELPLINE
    assert caller.from_number not in twiml and caller.from_number[1:] not in twiml

    with Session(get_engine(app)) as session:
        call = session.scalars(select(Call)).one()
        report = session.scalars(select(Report)).one()
        assert call.status == "answered" and call.handler_id is not None
        assert report.call_id == call.id and report.anonymous is True
        # The report opens with the caller's answers: force, role, category; their No to
        # "anyone at risk now?" as No, not as "not said".
        assert report.categories == ["sexual"]
        assert report.subjects[0].force == "metropolitan" and report.subjects[0].role == "staff"
        assert report.risk_now is False
        actions = {(a.action, a.record_type) for a in session.scalars(select(AuditEntry))}
        assert ("create", "report") in actions and ("take", "call") in actions

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert report.reference in page and "The caller is anonymous" in page
    assert 'name="contact_phone"' not in page


def test_a_caller_who_left_a_number_has_it_on_the_report(app, client, new_call):
    # the number they call from (+447911123456 in the simulator), confirmed
    queue_a_caller(new_call, anonymous=False)
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    token = csrf_token(client, "/console/queue")
    location = client.post("/console/queue/take-next", data={"csrf_token": token}).location
    page = client.get(location).get_data(as_text=True)
    assert 'value="+447911123456"' in page
    with Session(get_engine(app)) as session:
        report = session.scalars(select(Report)).one()
        assert report.anonymous is False
        assert b"447911123456" not in (report.contact_enc or b"")


def test_a_taken_caller_cannot_be_taken_again(app, client, new_call):
    queue_a_caller(new_call)
    add_user(app, "hana", "handler")
    add_user(app, "ivo", "handler")
    sign_in(client, "hana")
    client.post(
        "/console/queue/take-next", data={"csrf_token": csrf_token(client, "/console/queue")}
    )
    other = app.test_client()
    sign_in(other, "ivo")
    with Session(get_engine(app)) as session:
        call_id = session.scalars(select(Call.id)).one()
    response = other.post(
        f"/console/queue/{call_id}/take", data={"csrf_token": csrf_token(other, "/console/queue")}
    )
    assert response.status_code == 302 and response.location.endswith("/console/queue")
    page = other.get("/console/queue").get_data(as_text=True)
    assert "Another handler has just taken that caller" in page
    assert len(_gateway(app).requests) == 1


def test_two_handlers_taking_at_the_same_moment_get_one_caller_between_them(app, new_call):
    """Many rounds of two threads racing through the real claim on the real database."""
    ids = [add_user(app, "hana", "handler"), add_user(app, "ivo", "handler")]
    engine = get_engine(app)
    for _round in range(10):
        queue_a_caller(new_call)
        with Session(engine) as session:
            call_id = session.scalars(select(Call.id).where(Call.status == "queued")).one()
        barrier = threading.Barrier(2)
        won: list[int] = []

        def take(handler_id: int, call_id: int = call_id, barrier=barrier, won=won) -> None:
            with Session(engine) as session:
                barrier.wait()
                if claim(session, call_id, handler_id):
                    won.append(handler_id)

        threads = [threading.Thread(target=take, args=(i,)) for i in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(won) == 1, won
        with Session(engine) as session:
            assert session.get(Call, call_id).handler_id == won[0]


def test_if_twilio_refuses_the_caller_stays_in_the_queue(app, client, new_call):
    queue_a_caller(new_call)
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    _gateway(app).fail_with = "Twilio could not bring the caller to your phone."
    client.post(
        "/console/queue/take-next", data={"csrf_token": csrf_token(client, "/console/queue")}
    )
    page = client.get("/console/queue").get_data(as_text=True)
    assert "The caller is still in the queue" in page
    with Session(get_engine(app)) as session:
        assert session.scalars(select(Call.status)).one() == "queued"
        assert session.scalars(select(Report)).all() == []


def test_a_handler_without_a_phone_cannot_take(app, client, new_call):
    queue_a_caller(new_call)
    add_user(app, "hana", "handler", phone="")
    sign_in(client, "hana")
    client.post(
        "/console/queue/take-next", data={"csrf_token": csrf_token(client, "/console/queue")}
    )
    with Session(get_engine(app)) as session:
        assert session.scalars(select(Call.status)).one() == "queued"


def test_take_refuses_a_post_without_csrf_token(app, client, new_call):
    queue_a_caller(new_call)
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    client.post("/console/queue/take-next")
    with Session(get_engine(app)) as session:
        assert session.scalars(select(Call.status)).one() == "queued"


@pytest.mark.parametrize(("urgent", "risk_now"), [(True, True), (False, False), ("unknown", None)])
def test_the_report_opens_with_the_callers_risk_answer(app, client, new_call, urgent, risk_now):
    queue_a_caller(new_call, urgent=urgent)
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    token = csrf_token(client, "/console/queue")
    client.post("/console/queue/take-next", data={"csrf_token": token})
    with Session(get_engine(app)) as session:
        report = session.scalars(select(Report)).one()
        assert report.risk_now is risk_now
    page = client.get(f"/console/reports/{report.reference}").get_data(as_text=True)
    said = {True: "Yes: urgent", False: "No", "unknown": "Not sure"}[urgent]
    assert f'<dd id="call-risk">{said}</dd>' in page


def test_the_whisper_tells_the_handler_the_context(app, client, new_call):
    caller = queue_a_caller(new_call, role="volunteer", category="discrimination")
    with Session(get_engine(app)) as session:
        call_id = session.scalars(select(Call.id)).one()
    twiml = caller.follow(f"/voice/handler/whisper?call={call_id}")
    said = " ".join(s.text or "" for s in twiml.iter("Say"))
    assert "Metropolitan" in said and "anonymous" in said
    assert "Reporting a volunteer." in said and "About: Discrimination." in said
    # Unsigned: refused like every webhook.
    status, _body = caller.post(f"/voice/handler/whisper?call={call_id}", sign=False)
    assert status == 403


def test_a_handler_who_does_not_answer_puts_the_caller_back(app, client, new_call):
    caller = queue_a_caller(new_call)
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    client.post(
        "/console/queue/take-next", data={"csrf_token": csrf_token(client, "/console/queue")}
    )
    with Session(get_engine(app)) as session:
        call_id = session.scalars(select(Call.id)).one()
    twiml = caller.follow(_after_dial_url(app), {"DialCallStatus": "no-answer"})
    assert twiml.find("Enqueue") is not None
    with Session(get_engine(app)) as session:
        assert session.get(Call, call_id).status == "queued"


def test_a_caller_taken_again_brings_the_draft_to_the_new_handler(app, client, new_call):
    caller = queue_a_caller(new_call)
    add_user(app, "hana", "handler")
    add_user(app, "ivo", "handler")
    sign_in(client, "hana")
    token = csrf_token(client, "/console/queue")
    first = client.post("/console/queue/take-next", data={"csrf_token": token}).location
    caller.follow(_after_dial_url(app), {"DialCallStatus": "busy"})
    other = app.test_client()
    sign_in(other, "ivo")
    token = csrf_token(other, "/console/queue")
    second = other.post("/console/queue/take-next", data={"csrf_token": token}).location
    assert first.split("?")[0] == second.split("?")[0]
    assert other.get(second).status_code == 200
    assert client.get(first).status_code == 403


def test_without_a_caller_id_nobody_is_rung(app, client, new_call):
    """Twilio would show the caller's own number on the handler's phone."""
    app.extensions["ivr.core"] = dataclasses.replace(
        app.extensions["ivr.core"],
        settings=dataclasses.replace(app.extensions["ivr.core"].settings, twilio_caller_id=""),
    )
    queue_a_caller(new_call)
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    token = csrf_token(client, "/console/queue")
    client.post("/console/queue/take-next", data={"csrf_token": token})
    page = client.get("/console/queue").get_data(as_text=True)
    assert "TWILIO_CALLER_ID is not set" in page
    assert _gateway(app).requests == []
    with Session(get_engine(app)) as session:
        assert session.scalars(select(Call.status)).one() == "queued"


def test_a_late_after_dial_for_an_earlier_handler_leaves_the_caller_with_the_new_one(
    app, client, new_call
):
    """Hana's phone did not answer, so the caller went back and Ivo took them. A late or
    repeated report about Hana's phone must not take the caller away from Ivo."""
    caller = queue_a_caller(new_call)
    add_user(app, "hana", "handler")
    ivo = add_user(app, "ivo", "handler")
    sign_in(client, "hana")
    client.post(
        "/console/queue/take-next", data={"csrf_token": csrf_token(client, "/console/queue")}
    )
    hanas_phone = _after_dial_url(app)
    caller.follow(hanas_phone, {"DialCallStatus": "no-answer"})
    other = app.test_client()
    sign_in(other, "ivo")
    other.post("/console/queue/take-next", data={"csrf_token": csrf_token(other, "/console/queue")})
    caller.follow(hanas_phone, {"DialCallStatus": "no-answer"})  # Twilio asks again
    with Session(get_engine(app)) as session:
        call = session.scalars(select(Call)).one()
        assert call.status == "answered" and call.handler_id == ivo
