"""Supervisors in the console: the review list, the review page with what could identify
the caller marked, sanitising, approving (and its refusals), returning to the handler,
deliveries and redirection, and the alert for deliveries failing over a day."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from handler_console.highlight import highlight
from ivr.core.db import get_engine
from ivr.core.runtime import get_core
from ivr.models import AuditEntry, Dissemination, Report
from ivr.records.delivery import Deliverer
from ivr.records.pii import find_in_text
from tests.console_helpers import add_user, csrf_token, sign_in
from tests.records.conftest import delivery_settings, force_server, make_report, routes_to  # noqa: F401

PHONE_TEXT = "He took £500 in cash. Ring me back on 07700 900123 if you need more."


@pytest.fixture
def kent_and_essex(app):
    """Kent and Essex reachable (addresses no test sends to); the rest not configured."""
    runtime = get_core(app)
    routes = routes_to(
        runtime.forces,
        {
            "kent": ("https", "https://psd.kent.example/helpline"),
            "essex": ("email", "psd@essex.example"),
        },
    )
    app.extensions["ivr.core"] = dataclasses.replace(runtime, routes=routes)
    return routes


@pytest.fixture
def staff(app):
    ids = {"hana": add_user(app, "hana", "handler"), "sue": add_user(app, "sue", "supervisor")}
    return ids


@pytest.fixture
def sue(app, staff):
    client = app.test_client()
    assert sign_in(client, "sue").status_code == 302
    return client


def new_report(app, handler_id, **fields):
    with Session(get_engine(app), expire_on_commit=False) as session:
        return make_report(session, created_by_id=handler_id, **fields)


def stored(app, reference):
    with Session(get_engine(app), expire_on_commit=False) as session:
        report = session.scalars(select(Report).where(Report.reference == reference)).one()
        report.subjects  # noqa: B018 (load them before the session closes)
        deliveries = session.scalars(
            select(Dissemination).where(Dissemination.report_id == report.id)
        ).all()
        return report, list(deliveries)


def audit_entries(app, action):
    with Session(get_engine(app)) as session:
        return session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).all()


def post(client, url, data=None):
    """As the page's form would: with its CSRF token and, for an approval or an edit,
    the report's version as the page was just drawn (ivr/records/versions.py)."""
    token = csrf_token(client, "/console/account")
    data = {"csrf_token": token, **(data or {})}
    reference = url.split("/")[3] if url.count("/") >= 4 else ""
    if url.endswith(("/approve", "/edit")) and "version" not in data:
        data["version"] = str(stored(client.application, reference)[0].version)
    return client.post(url, data=data)


def page(response):
    return response.get_data(as_text=True)


def test_the_list_puts_urgent_reports_first_in_every_section(app, staff, sue):
    calm = new_report(app, staff["hana"], urgent=False)
    urgent = new_report(app, staff["hana"], urgent=True)
    returned_calm = new_report(app, staff["hana"], status="returned", return_comment="Add a date")
    returned_urgent = new_report(
        app, staff["hana"], status="returned", urgent=True, return_comment="Who is at risk?"
    )
    html = page(sue.get("/console/review"))
    waiting, returned = html.split('id="returned"')
    assert waiting.index(urgent.reference) < waiting.index(calm.reference)
    assert returned.index(returned_urgent.reference) < returned.index(returned_calm.reference)
    assert "Who is at risk?" in returned


def test_the_review_page_marks_what_could_identify_the_caller_and_is_audited(app, staff, sue):
    report = new_report(
        app,
        staff["hana"],
        what=PHONE_TEXT + " Write to tip@example.org. My husband saw it near ME14 1XX.",
    )
    response = sue.get(f"/console/review/{report.reference}")
    assert response.status_code == 200
    html = page(response)
    assert re.search(r'<mark class="pii pii-phone"[^>]*>07700 900123</mark>', html)
    assert re.search(r'<mark class="pii pii-email"[^>]*>tip@example.org</mark>', html)
    assert re.search(r'<mark class="pii pii-postcode"[^>]*>ME14 1XX</mark>', html)
    assert re.search(r'<mark class="pii pii-first_person"[^>]*>My husband</mark>', html)
    assert "a phone number in What happened" in html
    assert "an e-mail address in What happened" in html
    views = audit_entries(app, "view")
    assert [(v.record_id, v.reason) for v in views] == [(report.reference, "reviewing")]


def test_an_anonymous_report_with_a_phone_number_is_not_approved_until_sanitised(
    app, staff, sue, kent_and_essex
):
    report = new_report(app, staff["hana"], what=PHONE_TEXT)
    url = f"/console/review/{report.reference}"

    refused = post(sue, url + "/approve")
    assert refused.status_code == 200
    assert re.search(
        r'id="refusal">Not approved: This anonymous report still contains', page(refused)
    )
    assert "a phone number in What happened" in page(refused)
    after, deliveries = stored(app, report.reference)
    assert after.status == "submitted" and deliveries == []
    assert audit_entries(app, "approve") == []

    edit = sue.get(url + "/edit")
    assert edit.status_code == 200 and "07700 900123" in page(edit)
    saved = post(
        sue,
        url + "/edit",
        {
            "what": "He took £500 in cash.",
            "when_text": after.when_text,
            "where": after.where,
            "risk_who": "",
            "evidence": "",
            "subjects-0-name": "PC Subject 0",
            "subjects-0-rank": "PC",
            "subjects-0-collar_number": "",
            "subjects-0-station": "",
            "subjects-0-description": "",
        },
    )
    assert saved.status_code == 302 and saved.headers["Location"].endswith(url)
    assert "Saved: 1 field changed." in page(sue.get(url))
    sanitised = audit_entries(app, "sanitise")
    assert len(sanitised) == 1 and sanitised[0].detail == {"changed": ["what"], "version": 2}
    assert "07700" not in str(sanitised[0].detail) + (sanitised[0].reason or "")
    assert stored(app, report.reference)[0].what == "He took £500 in cash."
    assert [v.reason for v in audit_entries(app, "view")].count("sanitising") == 1

    approved = post(sue, url + "/approve")
    assert approved.status_code == 302
    after, deliveries = stored(app, report.reference)
    assert after.status == "approved"
    assert [(d.force_id, d.state) for d in deliveries] == [("kent", "pending")]
    html = page(sue.get(url))
    assert "approved: it is being sent to Kent Police" in html
    assert re.search(r'id="deliveries".*Kent Police.*state-pending', html, re.S)
    assert len(audit_entries(app, "approve")) == 1


def test_a_report_for_a_force_without_a_destination_is_refused_with_the_reason(
    app, staff, sue, kent_and_essex
):
    report = new_report(app, staff["hana"], subject_forces=("wiltshire",))
    html = page(sue.get(f"/console/review/{report.reference}"))
    assert "Wiltshire Police has no destination configured" in html
    refused = post(sue, f"/console/review/{report.reference}/approve")
    assert "Not approved: Wiltshire Police has no destination configured" in page(refused)
    assert stored(app, report.reference)[0].status == "submitted"


def test_a_contact_report_with_a_phone_number_can_be_approved(app, staff, sue, kent_and_essex):
    report = new_report(app, staff["hana"], what=PHONE_TEXT, anonymous=False)
    assert post(sue, f"/console/review/{report.reference}/approve").status_code == 302
    assert stored(app, report.reference)[0].status == "approved"


def test_returning_needs_a_comment_and_the_handler_sees_it_and_resubmits(app, staff, sue):
    report = new_report(app, staff["hana"])
    url = f"/console/review/{report.reference}"

    refused = post(sue, url + "/return", {"comment": "   "})
    assert refused.status_code == 200
    assert "Say what the handler should change before returning the report." in page(refused)
    assert stored(app, report.reference)[0].status == "submitted"
    assert audit_entries(app, "return") == []

    done = post(sue, url + "/return", {"comment": "Say when it happened, even roughly."})
    assert done.status_code == 302
    assert "returned to hana" in page(sue.get("/console/review"))
    returned = audit_entries(app, "return")
    assert len(returned) == 1 and returned[0].reason == "Say when it happened, even roughly."

    hana = app.test_client()
    sign_in(hana, "hana")
    mine = page(hana.get("/console/reports"))
    assert re.search(r"state-returned\">Returned to the handler<", mine)
    own = page(hana.get(f"/console/reports/{report.reference}"))
    assert "Returned by the supervisor:</strong> Say when it happened, even roughly." in own
    token = csrf_token(hana, f"/console/reports/{report.reference}")
    resubmitted = hana.post(
        f"/console/reports/{report.reference}",
        data={
            "csrf_token": token,
            "version": str(stored(app, report.reference)[0].version),  # as the page drew it
            "action": "submit",
            "categories": "bribery",
            "what": report.what,
            "when_text": "Tuesday 3 November, about 10pm",
            "where": report.where,
            "how_known": "saw",
            "risk_now": "no",
            "subjects-0-name": "PC Subject 0",
            "subjects-0-rank": "PC",
            "subjects-0-role": "officer",
            "subjects-0-force": "kent",
        },
    )
    assert resubmitted.status_code == 302, page(resubmitted)
    assert stored(app, report.reference)[0].status == "submitted"
    html = page(sue.get(url))
    assert "Resubmitted after being returned with" in html and "about 10pm" in html
    read = page(sue.get(f"/console/reports/{report.reference}"))
    assert f'href="/console/review/{report.reference}">Review and deliveries' in read


def test_redirecting_needs_a_reason_and_is_audited(app, staff, sue, kent_and_essex):
    report = new_report(app, staff["hana"])
    url = f"/console/review/{report.reference}"
    post(sue, url + "/approve")
    kent = stored(app, report.reference)[1][0]

    refused = post(sue, url + "/redirect", {"delivery": str(kent.id), "force": "essex"})
    assert refused.status_code == 200
    assert "Not redirected: Give the reason for sending the report to another force." in page(
        refused
    )
    assert len(stored(app, report.reference)[1]) == 1
    assert audit_entries(app, "redirect") == []

    same = post(sue, url + "/redirect", {"delivery": str(kent.id), "force": "kent", "reason": "x"})
    assert "Not redirected: The report already goes to Kent Police." in page(same)
    nowhere = post(
        sue, url + "/redirect", {"delivery": str(kent.id), "force": "wiltshire", "reason": "x"}
    )
    assert "Not redirected: Wiltshire Police has no destination configured" in page(nowhere)
    assert len(stored(app, report.reference)[1]) == 1

    done = post(
        sue,
        url + "/redirect",
        {"delivery": str(kent.id), "force": "essex", "reason": "The officer moved to Essex."},
    )
    assert done.status_code == 302
    deliveries = sorted((d.force_id, d.state) for d in stored(app, report.reference)[1])
    assert deliveries == [("essex", "pending"), ("kent", "redirected")]
    entry = audit_entries(app, "redirect")[0]
    assert entry.reason == "The officer moved to Essex." and entry.detail["to"] == "essex"
    html = page(sue.get(url))
    assert "redirected to Essex Police" in html
    assert "Redirected here: The officer moved to Essex." in html


def test_the_report_page_shows_a_delivery_made_to_a_real_force_server(
    app,
    staff,
    sue,
    force_server,  # noqa: F811
):
    runtime = get_core(app)
    routes = routes_to(runtime.forces, {"kent": ("https", force_server.url)})
    app.extensions["ivr.core"] = dataclasses.replace(runtime, routes=routes)
    force_server.failures = 1
    report = new_report(app, staff["hana"])
    url = f"/console/review/{report.reference}"
    post(sue, url + "/approve")
    sessions = sessionmaker(get_engine(app), expire_on_commit=False)
    worker = Deliverer(sessions, routes, runtime.cipher, delivery_settings())

    assert worker.run_once().failed == 1
    html = page(sue.get(url))
    assert re.search(r"state-failing.*failing since .*HTTP 503 from kent", html, re.S)

    with Session(get_engine(app)) as session:  # the back-off has passed
        session.query(Dissemination).update({"next_attempt_at": datetime.now(UTC)})
        session.commit()
    assert worker.run_once().delivered == 1
    assert len(force_server.acknowledged) == 1 and force_server.acknowledged[0]["signature_ok"]
    html = page(sue.get(url))
    assert re.search(r"state-delivered\">Delivered</span>.*acknowledged", html, re.S)
    assert stored(app, report.reference)[0].status == "disseminated"


def test_supervisors_are_alerted_to_deliveries_failing_for_over_a_day(
    app, staff, sue, kent_and_essex
):
    report = new_report(app, staff["hana"], status="approved", urgent=True)
    with Session(get_engine(app)) as session:
        now = datetime.now(UTC)
        session.add(
            Dissemination(
                report_id=report.id,
                force_id="kent",
                channel="https",
                destination="https://psd.kent.example/helpline",
                idempotency_key="k" * 32,
                state="pending",
                attempts=30,
                next_attempt_at=now + timedelta(minutes=30),
                first_failed_at=now - timedelta(days=1, hours=2),
                last_error="HTTP 503 from kent",
                created_at=now - timedelta(days=2),
            )
        )
        session.commit()
    for where in ("/console/queue", "/console/review", f"/console/review/{report.reference}"):
        html = page(sue.get(where))
        assert 'id="delivery-alert"' in html, where
        assert "1 delivery has been failing for more than a day." in html
        assert report.reference in html and "HTTP 503 from kent" in html
    assert "state-alert" in page(sue.get(f"/console/review/{report.reference}"))

    hana = app.test_client()
    sign_in(hana, "hana")
    assert 'id="delivery-alert"' not in page(hana.get("/console/queue"))


def test_only_a_submitted_report_can_be_edited_or_decided(app, staff, sue, kent_and_essex):
    report = new_report(app, staff["hana"], status="draft", what=PHONE_TEXT)
    url = f"/console/review/{report.reference}"
    edit = sue.get(url + "/edit")
    assert edit.status_code == 302
    assert "Only a submitted report can be edited; this one is draft." in page(sue.get(url))
    assert "Only a submitted report can be approved" in page(post(sue, url + "/approve"))
    assert stored(app, report.reference)[0].what == PHONE_TEXT
    assert sue.get("/console/review/ZZZZ-ZZZZ").status_code == 404


def test_highlighting_escapes_the_text_and_keeps_overlapping_findings():
    text = "<b>I SW1A 1AA</b> call 07700 900123"
    html = str(highlight(text, find_in_text(text, "what")))
    assert html == (
        "&lt;b&gt;"
        '<mark class="pii pii-first_person" title="first person">I </mark>'
        '<mark class="pii pii-postcode" title="postcode, first person">SW</mark>'
        '<mark class="pii pii-postcode" title="postcode">1A 1AA</mark>'
        "&lt;/b&gt; call "
        '<mark class="pii pii-phone" title="phone number">07700 900123</mark>'
    )
    assert str(highlight("nothing here", [])) == "nothing here"
    assert str(highlight("", [])) == ""


def test_an_edit_too_long_is_refused_next_to_the_field_and_changes_nothing(app, staff, sue):
    report = new_report(app, staff["hana"], what=PHONE_TEXT)
    url = f"/console/review/{report.reference}/edit"
    refused = post(sue, url, {"what": "x" * 20001, "subjects-0-name": "PC Subject 0"})
    assert refused.status_code == 200
    assert "What happened can be at most 20,000 characters; this is 20,001." in page(refused)
    assert stored(app, report.reference)[0].what == PHONE_TEXT
    assert audit_entries(app, "sanitise") == []
    assert [v.reason for v in audit_entries(app, "view")] == ["sanitising"]
