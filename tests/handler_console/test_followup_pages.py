"""The console's side of the online report and of keeping in contact: taking an online
report, the follow-up code read to a caller, a force's question, and the review of
what the reporter sends back."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ivr.core import followup
from ivr.core.db import get_session
from ivr.models import Dissemination, Report, ReportMessage, UpdateDelivery
from tests.console_helpers import CONSOLE_SETTINGS, add_user, csrf_token, sign_in
from tests.online.walk import csrf, send, shown_code, walk_to_check


@pytest.fixture
def settings_overrides(settings_overrides):  # type: ignore[no-untyped-def]
    return {**settings_overrides, **CONSOLE_SETTINGS}


def _reporter(app):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


def test_a_handler_takes_an_online_report_once(app, client):
    reporter = _reporter(app)
    walk_to_check(reporter)
    reference, _ = shown_code(send(reporter).get_data(as_text=True))
    add_user(app, "hana", "handler")
    add_user(app, "hal", "handler")
    sign_in(client, "hana")
    listing = client.get("/console/online").get_data(as_text=True)
    assert reference in listing
    token = csrf_token(client, "/console/online")
    taken = client.post(f"/console/online/{reference}/take", data={"csrf_token": token})
    assert taken.headers["Location"].endswith(f"/console/reports/{reference}?why=editing+draft")
    assert reference not in client.get("/console/online").get_data(as_text=True)
    page = client.get(f"/console/reports/{reference}").get_data(as_text=True)
    assert "online" in page and "An officer sold the names" in page
    # The second handler is too late.
    other = app.test_client()
    sign_in(other, "hal")
    late = other.post(
        f"/console/online/{reference}/take",
        data={"csrf_token": csrf_token(other, "/console/online")},
    )
    assert late.headers["Location"].endswith("/console/online")
    with app.app_context():
        report = get_session().scalar(select(Report).where(Report.reference == reference))
        assert report.created_by_id is not None


def test_the_code_to_read_to_a_caller_is_shown_once_and_works(app, client):
    add_user(app, "sue", "supervisor")
    with app.app_context():
        db = get_session()
        report = Report(reference="7KQD-M3XA", origin="call", status="draft", extra={})
        db.add(report)
        db.commit()
    sign_in(client, "sue")
    page = client.get("/console/reports/7KQD-M3XA").get_data(as_text=True)
    assert 'id="followup-prompt"' in page
    shown = client.post(
        "/console/reports/7KQD-M3XA/follow-up/code",
        data={"csrf_token": csrf_token(client, "/console/reports/7KQD-M3XA")},
    ).get_data(as_text=True)
    assert "slowly, twice" in shown
    code = re.search(r'id="code">([\d ]+)<', shown).group(1).replace(" ", "")
    assert len(code) == followup.CODE_DIGITS
    assert 'id="followup-prompt"' not in client.get("/console/reports/7KQD-M3XA").get_data(
        as_text=True
    )
    assert code not in client.get("/console/reports/7KQD-M3XA/follow-up").get_data(as_text=True)
    with app.app_context():
        db = get_session()
        assert followup.check(db, "75736392", code, "phone") is not None  # keypad form


def test_a_question_goes_to_the_reporter_and_the_answer_is_reviewed_and_queued(app, client):
    reporter = _reporter(app)
    walk_to_check(reporter)
    reference, code = shown_code(send(reporter).get_data(as_text=True))
    with app.app_context():
        db = get_session()
        report = db.scalar(select(Report).where(Report.reference == reference))
        report.status = "disseminated"
        sent = Dissemination(report_id=report.id, force_id="kent", channel="https")
        sent.destination, sent.idempotency_key, sent.state = "x", "k1", "delivered"
        db.add(sent)
        db.commit()
    add_user(app, "sue", "supervisor")
    sign_in(client, "sue")
    url = f"/console/reports/{reference}/follow-up"
    asked = client.post(
        url + "/ask",
        data={"force": "kent", "text": "Which car?", "csrf_token": csrf_token(client, url)},
    )
    assert asked.status_code == 302
    # The reporter answers online, with a phone number in it.
    page = reporter.get("/report/follow-up").get_data(as_text=True)
    reporter.post(
        "/report/follow-up", data={"reference": reference, "code": code, "csrf_token": csrf(page)}
    )
    with app.app_context():
        question = get_session().scalar(select(ReportMessage))
    page = reporter.get(f"/report/follow-up/answer/{question.id}").get_data(as_text=True)
    reporter.post(
        f"/report/follow-up/answer/{question.id}",
        data={"text": "A red Ford; call 07911 123456", "confirmed": "1", "csrf_token": csrf(page)},
    )
    review = client.get("/console/follow-ups").get_data(as_text=True)
    assert "A red Ford" in review and "phone: “07911 123456”" in review
    with app.app_context():
        answer = get_session().scalar(select(ReportMessage).where(ReportMessage.kind == "answer"))
    token = csrf_token(client, "/console/follow-ups")
    refused = client.post(
        f"/console/follow-ups/{answer.id}/approve",
        data={"text": "A red Ford; call 07911 123456", "csrf_token": token},
        follow_redirects=True,
    )
    assert "phone number" in refused.get_data(as_text=True)
    client.post(
        f"/console/follow-ups/{answer.id}/approve",
        data={"text": "A red Ford.", "csrf_token": token},
    )
    with app.app_context():
        rows = get_session().scalars(select(UpdateDelivery)).all()
        assert [(r.force_id, r.state) for r in rows] == [("kent", "pending")]


def test_a_handler_cannot_ask_questions(app, client):
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    assert client.get("/console/follow-ups").status_code == 403


def test_online_reports_and_their_messages_are_listed_in_uk_time(app, client):
    """Stored in UTC, shown in UK time and labelled, like every time in the console: in
    summer, a report sent at 00:30 is listed on the day it was sent, not at 23:30 the day
    before."""
    sent = datetime(2027, 7, 14, 23, 30, tzinfo=UTC)
    with app.app_context():
        db = get_session()
        report = Report(
            reference="7KQD-M3XA", origin="online", status="draft", extra={}, created_at=sent
        )
        db.add(report)
        db.flush()
        db.add(ReportMessage(report_id=report.id, kind="addition", status="submitted",
                             text="More", created_at=sent))  # fmt: skip
        db.commit()
    add_user(app, "sue", "supervisor")
    sign_in(client, "sue")
    for url in ("/console/online", "/console/reports/7KQD-M3XA/follow-up"):
        page = client.get(url).get_data(as_text=True)
        assert "15 Jul 2027, 00:30 BST" in page and "23:30" not in page, url
