"""Coming back online with the reference and code: questions, answers, more
information; and the lock that defeats guessing (shared with the phone line)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ivr.core import followup
from ivr.core.db import get_session
from ivr.models import AuditEntry, Report, ReportMessage, User
from tests.online.walk import csrf, send, shown_code, walk_to_check


def _made(client):  # type: ignore[no-untyped-def]
    walk_to_check(client)
    return shown_code(send(client).get_data(as_text=True))


def _sign_in(client, reference, code):  # type: ignore[no-untyped-def]
    page = client.get("/report/follow-up")
    return client.post(
        "/report/follow-up",
        data={
            "reference": reference,
            "code": code,
            "csrf_token": csrf(page.get_data(as_text=True)),
        },
    )


def _ask(app, reference, text):  # type: ignore[no-untyped-def]
    """A supervisor's question (the report marked as sent, as delivery would)."""
    from ivr.models import Dissemination

    with app.app_context():
        db = get_session()
        report = db.scalar(select(Report).where(Report.reference == reference))
        report.status = "disseminated"
        boss = User(username="boss", password_hash="x", role="supervisor")
        db.add(boss)
        sent = Dissemination(report_id=report.id, force_id="kent", channel="https")
        sent.destination, sent.idempotency_key, sent.state = "x", "k-" + reference, "delivered"
        db.add(sent)
        db.flush()
        from ivr.records.followup_messages import ask

        question = ask(db, report, boss, text, "kent")
        db.commit()
        return question.id


def test_a_reporter_reads_a_question_answers_it_and_adds_more(app, client):
    reference, code = _made(client)
    question_id = _ask(app, reference, "What colour was the car?")
    response = _sign_in(client, reference.lower().replace("-", " "), " ".join(code))
    assert response.status_code == 302
    home = client.get("/report/follow-up/report").get_data(as_text=True)
    assert "What colour was the car?" in home
    page = client.get(f"/report/follow-up/answer/{question_id}").get_data(as_text=True)
    sent = client.post(
        f"/report/follow-up/answer/{question_id}", data={"text": "Red.", "csrf_token": csrf(page)}
    )
    assert sent.status_code == 302
    # More information, with the PII warning first: it comes back once, then sends as it is.
    page = client.get("/report/follow-up/add").get_data(as_text=True)
    warned = client.post(
        "/report/follow-up/add",
        data={"text": "My number is 07911 123456", "csrf_token": csrf(page)},
    )
    assert warned.status_code == 200
    text = warned.get_data(as_text=True)
    assert "might identify you" in text and 'name="confirmed" value="1"' in text
    assert ">My number is 07911 123456</textarea>" in text
    confirmed = client.post(
        "/report/follow-up/add",
        data={"text": "My number is 07911 123456", "confirmed": "1", "csrf_token": csrf(text)},
    )
    assert confirmed.status_code == 302
    with app.app_context():
        found = get_session().scalars(select(ReportMessage).order_by(ReportMessage.id)).all()
        assert [(m.kind, m.status) for m in found] == [
            ("question", "answered"),
            ("answer", "submitted"),
            ("addition", "submitted"),
        ]
    # The keypad form of the reference works too.
    client.post("/report/follow-up/sign-out", data={"csrf_token": csrf(home)})
    assert client.get("/report/follow-up/report").status_code == 302
    assert _sign_in(client, followup.keypad_form(reference), code).status_code == 302


def test_wrong_reference_and_wrong_code_get_the_same_answer_after_the_same_work(
    app, client, monkeypatch
):
    reference, code = _made(client)
    verified: list[str] = []
    real = followup._verify
    monkeypatch.setattr(followup, "_verify", lambda h, c: verified.append(h) or real(h, c))
    wrong_code = _sign_in(client, reference, "000000000000")
    wrong_reference = _sign_in(client, "ZZZZ-ZZZZ", code)
    assert wrong_code.status_code == wrong_reference.status_code == 400

    def message(r):  # type: ignore[no-untyped-def]
        return r.get_data(as_text=True).split('class="error-summary-list">')[1].split("</ul>")[0]

    assert message(wrong_code) == message(wrong_reference)
    assert len(verified) == 2  # one argon2id verification each


def test_a_reference_locks_after_five_wrong_codes_and_the_lock_is_audited(app, client):
    reference, code = _made(client)
    for _ in range(followup.MAX_FAILURES):
        assert _sign_in(client, reference, "111111111111").status_code == 400
    # Locked: even the right code gets the same "not found" answer.
    locked = _sign_in(client, reference, code)
    assert locked.status_code == 400 and "could not find a report" in locked.get_data(as_text=True)
    with app.app_context():
        db = get_session()
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "lock"))
        assert entry.record_id == reference and "online" in entry.reason
        report = db.scalar(select(Report).where(Report.reference == reference))
        # An hour later the right code works again.
        report.followup_locked_until = followup.utcnow() - timedelta(seconds=1)
        db.commit()
    assert _sign_in(client, reference, code).status_code == 302


def test_follow_up_pages_need_a_sign_in(client):
    assert client.get("/report/follow-up/report").headers["Location"].endswith("/report/follow-up")
    assert client.get("/report/follow-up/add").status_code == 302


def test_welsh_follow_up(client):
    html = client.get("/report/follow-up?lang=cy").get_data(as_text=True)
    assert "Cod cyfrinachol" in html
