"""The online report through the test client: every question, its errors, what it
keeps, and the report it makes (origin "online", with a follow-up code)."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from ivr.core import followup
from ivr.core.db import get_session
from ivr.models import AuditEntry, OnlineDraft, RateBucket, Report
from tests.online.walk import ANSWERS, answer, send, shown_code, walk_to_check


def _report(app, reference):  # type: ignore[no-untyped-def]
    with app.app_context():
        session = get_session()
        found = session.scalar(select(Report).where(Report.reference == reference))
        assert found.subjects  # loaded before the session closes
        session.expunge_all()
        return found


def test_a_whole_anonymous_report_arrives_as_an_online_draft_with_a_code(app, client):
    check = walk_to_check(client)
    assert check.status_code == 200
    html = check.get_data(as_text=True)
    assert "Kent Police" in html and "spring 2024" in html
    done = send(client)
    assert done.status_code == 200
    reference, code = shown_code(done.get_data(as_text=True))
    assert len(code) == followup.CODE_DIGITS and code.isdigit()
    report = _report(app, reference)
    assert report.origin == "online" and report.status == "draft"
    assert report.created_by_id is None and report.anonymous is True
    assert report.categories == ["bribery", "other"]
    assert report.subjects[0].force == "kent" and report.subjects[0].name == "PC Smith"
    assert report.keypad_reference == followup.keypad_form(reference)
    # Only a hash is kept, and it is argon2id.
    assert code not in report.followup_code_hash
    assert report.followup_code_hash.startswith("$argon2id$")
    with app.app_context():
        session = get_session()
        assert session.scalar(select(func.count()).select_from(OnlineDraft)) == 0
        created = session.scalar(select(AuditEntry).where(AuditEntry.record_id == reference))
        assert created.action == "create" and created.reason == "online report"
        # The code is right for this report by either form of the reference.
        assert followup.check(session, reference, code, "online") is not None
        assert followup.check(session, report.keypad_reference, code, "online") is not None


def test_the_code_is_shown_once(client):
    walk_to_check(client)
    send(client)
    again = client.get("/report/check")
    assert again.status_code == 302 and again.headers["Location"].endswith("/report/q/risk_now")


def test_an_error_is_summarised_tied_to_its_field_and_keeps_what_was_typed(client):
    response = answer(client, "what", {"what": "short"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<title>Error: What happened?" in html
    assert 'href="#what"' in html  # the summary links to the field
    assert 'aria-describedby="what-hint what-error"' in html
    assert ">short</textarea>" in html
    # …and it is saved: a reload shows it.
    reload = client.get("/report/q/what").get_data(as_text=True)
    assert ">short</textarea>" in reload


def test_an_expired_form_changes_nothing_but_loses_nothing(client):
    client.get("/report/q/what")
    response = client.post("/report/q/what", data={"what": "Typed before the token expired"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This page had expired" in html
    assert "Typed before the token expired</textarea>" in html
    assert "Typed before" not in client.get("/report/q/what").get_data(as_text=True)


def test_choosing_to_give_contact_details_asks_for_them_and_stores_them_encrypted(app, client):
    answers = [*ANSWERS[:-1], ("anonymous", {"anonymous": "no"})]
    for slug, form in answers:
        answer(client, slug, form)
    assert client.get("/report/check").headers["Location"].endswith("/report/q/contact")
    bad = answer(client, "contact", {"contact_phone": "12", "contact_email": "nope"})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert 'href="#contact_phone"' in text and 'href="#contact_email"' in text
    good = answer(client, "contact", {"contact_name": "Sam", "contact_phone": "07911 123456"})
    assert good.status_code == 302
    reference, _ = shown_code(send(client).get_data(as_text=True))
    report = _report(app, reference)
    assert report.anonymous is False and b"07911" not in report.contact_enc
    with app.app_context():
        from ivr.core.runtime import get_core
        from ivr.records.record import get_contact

        assert get_contact(report, get_core().cipher)["phone"] == "+447911123456"


def test_the_pii_check_warns_an_anonymous_reporter_before_sending(client):
    answers = [
        *ANSWERS[:4],
        ("what", {"what": "He told me on 07700 900982 that my husband would be arrested."}),
        *ANSWERS[5:],
    ]
    html = walk_to_check(client, answers).get_data(as_text=True)
    assert "Your words might identify you" in html
    assert "What happened?: a phone number (“07700 900982”)" in html
    assert "words about yourself (“my husband”)" in html


def test_no_warning_for_a_reporter_who_gives_contact_details(client):
    answers = [
        *ANSWERS[:4],
        ("what", {"what": "He told me on 07700 900982 that my husband would be arrested."}),
        *ANSWERS[5:-1],
        ("anonymous", {"anonymous": "no"}),
        ("contact", {"contact_email": "sam@example.org"}),
    ]
    html = walk_to_check(client, answers).get_data(as_text=True)
    assert "might identify you" not in html


def test_submissions_are_rate_limited_without_any_address(app, client):
    walk_to_check(client)
    with app.app_context():
        session = get_session()
        session.merge(RateBucket(name="online-submit", tokens=0.0, updated_at=followup.utcnow()))
        session.commit()
    refused = send(client)
    assert refused.status_code == 429
    assert "great many reports" in refused.get_data(as_text=True)
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(Report)) == 0


def test_the_pages_have_their_own_cookie_apart_from_the_console(client):
    response = client.get("/report/q/risk_now")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("helpline_report=") and "Path=/report" in cookie
    assert "HttpOnly" in cookie and "Secure" in cookie
    console = client.get("/console/login")
    assert "helpline_report" not in console.headers.get("Set-Cookie", "")


def test_welsh_pages(client):
    html = client.get("/report/?lang=cy").get_data(as_text=True)
    assert '<html lang="cy">' in html and "Dechrau nawr" in html
    html = client.get("/report/q/force").get_data(as_text=True)
    assert "I ba heddlu maen nhw&#39;n gweithio?" in html and "Heddlu Caint" in html


def test_both_languages_have_the_same_words():
    from ivr.online.words import catalogue

    assert set(catalogue("en")) == set(catalogue("cy"))


def test_a_choice_not_in_the_list_is_not_kept(client):
    response = answer(client, "force", {"force": "<script>"})
    assert response.status_code == 400
    assert "&lt;script&gt;" not in response.get_data(as_text=True)


def test_security_headers(client):
    response = client.get("/report/")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_draft_is_stored_encrypted(app, client):
    answer(client, "what", {"what": "Something secret happened at the station."})
    with app.app_context():
        draft = get_session().scalar(select(OnlineDraft))
        assert b"secret" not in draft.answers_enc
        assert json.loads(get_session_cipher(app).decrypt(draft.answers_enc))["what"]


def get_session_cipher(app):  # type: ignore[no-untyped-def]
    from ivr.core.runtime import get_core

    return get_core(app).cipher


def test_purge_erases_expired_drafts(app, client):
    from datetime import timedelta

    from ivr.records.retention import purge

    answer(client, "what", {"what": "Something secret happened at the station."})
    with app.app_context():
        db = get_session()
        assert purge(db, 365, 365).drafts == 0
        later = followup.utcnow() + timedelta(hours=25)
        assert purge(db, 365, 365, now=later).drafts == 1
        assert db.scalar(select(func.count()).select_from(OnlineDraft)) == 0
