"""The delivery worker against a real HTTP server and a real SMTP server on 127.0.0.1.

The clock is moved by the tests: nobody sleeps through a back-off.
"""

from __future__ import annotations

import email
import json
import socket
import threading
from datetime import UTC, timedelta
from email import policy

import jsonschema
import pytest
from sqlalchemy import select

from ivr.core.routing import Route, Routes
from ivr.core.settings import PROJECT_ROOT
from ivr.models import AuditEntry, Dissemination, Report
from ivr.records.delivery import Deliverer, backoff
from ivr.records.delivery_state import deliveries_of, failing_deliveries, state_label
from ivr.records.export import export_report, to_body
from ivr.records.review import approve, redirect
from ivr.records.sending import verify
from tests.records.conftest import (
    SECRET,
    delivery_settings,
    free_port,
    make_report,
    make_user,
    routes_to,
)

SCHEMA = json.loads((PROJECT_ROOT / "schemas" / "report.schema.json").read_text())
FAST = delivery_settings(retry_base_seconds=60, retry_max_seconds=600, lease_seconds=300)


def utc(moment):
    """SQLite gives datetimes back without their zone; all are stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def approved(session, routes, clock, forces=("kent",), **fields):
    report = make_report(session, forces, **fields)
    approve(session, report, make_user(session), routes, now=clock())
    return report


def row_of(sessions, report, force="kent"):
    with sessions() as s:
        return s.scalars(
            select(Dissemination).where(
                Dissemination.report_id == report.id, Dissemination.force_id == force
            )
        ).one()


def status_of(sessions, report):
    with sessions() as s:
        return s.get(Report, report.id).status


def test_a_force_that_fails_for_a_while_gets_the_report_exactly_once(
    sessions, session, forces, cipher, clock, force_server
):
    routes = routes_to(forces, {"kent": ("https", force_server.url)})
    force_server.failures = 3
    report = make_report(session)
    approve(session, report, make_user(session), routes, now=clock())
    worker = Deliverer(sessions, routes, cipher, FAST, clock)
    first_failure = clock()

    waits = []
    for _ in range(3):
        assert worker.run_once().failed == 1
        assert worker.run_once().failed == 0  # not due again yet
        row = row_of(sessions, report)
        assert row.state == "pending" and row.last_error == "HTTP 503 from kent"
        assert utc(row.first_failed_at) == first_failure
        wait = utc(row.next_attempt_at) - clock()
        waits.append(wait)
        clock.now += wait
    assert waits == [timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]
    assert status_of(sessions, report) == "approved"

    assert worker.run_once().delivered == 1
    clock.advance(days=2)
    assert worker.run_once().delivered == 0

    row = row_of(sessions, report)
    assert (row.state, row.attempts) == ("delivered", 4)
    assert state_label(row) == "delivered"
    assert utc(row.delivered_at) == clock() - timedelta(days=2)
    assert status_of(sessions, report) == "disseminated"
    # Four requests, all signed and carrying the same key; one acknowledged.
    assert len(force_server.received) == 4
    assert all(r["signature_ok"] for r in force_server.received)
    assert {r["key"] for r in force_server.received} == {row.idempotency_key}
    assert len(force_server.acknowledged) == 1
    (record,) = force_server.records()
    jsonschema.validate(record, SCHEMA)
    assert record["reference"] == report.reference
    assert force_server.acknowledged[0]["content_type"].startswith("application/json")
    with sessions() as s:
        disclose = s.scalars(select(AuditEntry).where(AuditEntry.action == "disclose")).one()
        assert disclose.detail["to"] == "Kent Police Professional Standards Department"
        assert disclose.user_id == s.get(Report, report.id).reviewed_by_id
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action == "disseminated")).one()


def test_the_force_rejects_a_wrong_signature_and_the_report_is_kept(
    sessions, session, forces, cipher, clock, force_server
):
    wrong = Route("kent", "Kent Police", "PSD", "https", force_server.url, "x" * 40)
    routes = Routes(forces, {"kent": wrong})
    report = approved(session, routes, clock)
    assert Deliverer(sessions, routes, cipher, FAST, clock).run_once().failed == 1
    assert force_server.received[0]["signature_ok"] is False
    assert force_server.acknowledged == []
    assert row_of(sessions, report).last_error == "HTTP 401 from kent"


def test_an_unreachable_force_is_retried_never_dropped_and_alerts_after_a_day(
    sessions, session, forces, cipher, clock
):
    routes = routes_to(forces, {"kent": ("https", f"http://127.0.0.1:{free_port()}/")})
    report = approved(session, routes, clock)
    worker = Deliverer(sessions, routes, cipher, FAST, clock)
    started = clock()
    for _ in range(25):
        worker.run_once()
        clock.advance(hours=1)
    row = row_of(sessions, report)
    assert row.state == "pending" and row.attempts == 25
    assert "cannot reach kent" in row.last_error
    assert utc(row.next_attempt_at) - clock() <= timedelta(seconds=600)  # the cap
    with sessions() as s:
        assert failing_deliveries(s, started + timedelta(hours=23)) == []
        assert [d.id for d in failing_deliveries(s, clock())] == [row.id]
        (shown,) = deliveries_of(s, s.get(Report, report.id))
        assert state_label(shown, started + timedelta(hours=23)) == "failing"
        assert state_label(shown, clock()) == "alert"


def test_a_force_answering_nonsense_is_a_failure_not_a_crash(
    sessions, session, forces, cipher, clock
):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def answer_nonsense():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"nonsense\r\n\r\n")

    thread = threading.Thread(target=answer_nonsense)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    routes = routes_to(forces, {"kent": ("https", url)})
    report = approved(session, routes, clock)
    assert Deliverer(sessions, routes, cipher, FAST, clock).run_once().failed == 1
    thread.join()
    listener.close()
    row = row_of(sessions, report)
    assert row.state == "pending" and row.last_error == "cannot reach kent: BadStatusLine"


def test_backoff_doubles_up_to_its_cap():
    settings = delivery_settings(retry_base_seconds=30, retry_max_seconds=3600)
    seconds = [backoff(n, settings).total_seconds() for n in range(1, 10)]
    assert seconds == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_report_to_several_forces_is_disseminated_when_each_has_it(
    sessions, session, forces, cipher, clock, force_server, smtp_server
):
    mailbox, port = smtp_server
    routes = routes_to(
        forces, {"kent": ("https", force_server.url), "essex": ("email", "psd@essex.example")}
    )
    settings = delivery_settings(smtp_host="127.0.0.1", smtp_port=port, timeout_seconds=10)
    force_server.failures = 1
    report = approved(session, routes, clock, ("kent", "essex"))
    worker = Deliverer(sessions, routes, cipher, settings, clock)
    done = worker.run_once()
    assert (done.delivered, done.failed) == (1, 1)
    assert status_of(sessions, report) == "approved"
    clock.advance(hours=1)
    assert worker.run_once().delivered == 1
    assert status_of(sessions, report) == "disseminated"


def test_email_delivery_reaches_a_real_smtp_server_signed(
    sessions, session, forces, cipher, clock, smtp_server
):
    mailbox, port = smtp_server
    routes = routes_to(forces, {"metropolitan": ("email", "acac@met.example")})
    settings = delivery_settings(smtp_host="127.0.0.1", smtp_port=port, timeout_seconds=10)
    report = approved(session, routes, clock, ("metropolitan",))
    assert Deliverer(sessions, routes, cipher, settings, clock).run_once().delivered == 1
    (envelope,) = mailbox.messages
    assert envelope.rcpt_tos == ["acac@met.example"]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    key = row_of(sessions, report, "metropolitan").idempotency_key
    assert message["Idempotency-Key"] == key
    assert message["Message-ID"] == f"<{key}@helpline>"
    (attachment,) = list(message.iter_attachments())
    body = attachment.get_content()
    assert verify(
        SECRET, body, key, message["X-Helpline-Timestamp"], message["X-Helpline-Signature"]
    )
    record = json.loads(body)
    jsonschema.validate(record, SCHEMA)
    assert record["subjects"][0]["force"]["name"] == "Metropolitan Police Service"
    assert status_of(sessions, report) == "disseminated"


def test_an_smtp_server_that_is_down_means_a_retry(sessions, session, forces, cipher, clock):
    routes = routes_to(forces, {"essex": ("email", "psd@essex.example")})
    settings = delivery_settings(smtp_host="127.0.0.1", smtp_port=free_port(), timeout_seconds=5)
    report = approved(session, routes, clock, ("essex",))
    assert Deliverer(sessions, routes, cipher, settings, clock).run_once().failed == 1
    row = row_of(sessions, report, "essex")
    assert row.state == "pending" and "e-mail to essex not accepted" in row.last_error


def test_a_claimed_delivery_is_left_to_its_worker_until_the_lease_ends(
    sessions, session, forces, cipher, clock, force_server
):
    routes = routes_to(forces, {"kent": ("https", force_server.url)})
    approved(session, routes, clock)
    first, second = (Deliverer(sessions, routes, cipher, FAST, clock) for _ in range(2))
    claimed = first.claim()
    assert claimed is not None
    assert second.claim() is None  # the first worker is (say) stuck or dead
    clock.advance(seconds=FAST.lease_seconds)
    assert second.claim() == claimed  # its lease ran out: another worker takes over


def test_a_redirect_after_delivery_sends_it_to_the_new_force_as_well(
    sessions, session, forces, cipher, clock, force_server
):
    routes = routes_to(
        forces, {"kent": ("https", force_server.url), "essex": ("https", force_server.url)}
    )
    report = approved(session, routes, clock)
    worker = Deliverer(sessions, routes, cipher, FAST, clock)
    worker.run_once()
    assert status_of(sessions, report) == "disseminated"
    redirect(session, report, "essex", "Moved to Essex", make_user(session), routes, now=clock())
    assert status_of(sessions, report) == "approved"
    worker.run_once()
    assert status_of(sessions, report) == "disseminated"
    assert len(force_server.acknowledged) == 2


def test_an_anonymous_report_carries_nothing_of_the_caller(session, forces, cipher):
    contact = {"name": "Sam Caller", "phone": "+447700900999", "email": "sam@example.org"}
    report = make_report(session, anonymous=True, contact=contact, cipher=cipher)
    record = export_report(report, forces, cipher)
    jsonschema.validate(record, SCHEMA)
    assert record["reporter"] == {"anonymous": True}
    body = to_body(record).decode()
    for value in (*contact.values(), "7700900999"):
        assert value not in body


def test_a_contactable_reporter_is_sent_and_then_erased(session, forces, cipher):
    contact = {"name": "Sam Caller", "phone": "+447700900999"}
    report = make_report(session, anonymous=False, contact=contact, cipher=cipher)
    record = export_report(report, forces, cipher)
    jsonschema.validate(record, SCHEMA)
    assert record["reporter"]["contact"]["name"] == "Sam Caller"
    assert record["reporter"]["contact"]["phones"] == ["+447700900999"]
    assert record["reporter"]["contact_erased"] is False
    report.contact_enc = None
    report.contact_erased_at = report.created_at
    record = export_report(report, forces, cipher)
    jsonschema.validate(record, SCHEMA)
    assert record["reporter"]["contact"] is None and record["reporter"]["contact_erased"] is True


@pytest.mark.postgres
def test_two_workers_at_once_deliver_each_report_once(
    database_url, sessions, session, forces, cipher, clock, force_server
):
    if not database_url.startswith("postgresql"):
        pytest.skip("several workers at once need PostgreSQL's SKIP LOCKED")
    routes = routes_to(forces, {"kent": ("https", force_server.url)})
    reports = [approved(session, routes, clock) for _ in range(30)]
    force_server.failures = 5  # some of them need a second go as well
    workers = [Deliverer(sessions, routes, cipher, FAST, clock) for _ in range(2)]
    start = threading.Barrier(len(workers))
    errors = []

    def work(worker):
        try:
            start.wait()
            worker.run_once()
        except Exception as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    # A force that failed is not tried again in the same round: a few rounds to get past
    # the five failures.
    for _ in range(8):
        threads = [threading.Thread(target=work, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        clock.advance(seconds=FAST.retry_max_seconds)
    assert errors == []
    keys = [r["key"] for r in force_server.acknowledged]
    assert len(keys) == len(set(keys)) == len(reports)
    assert {r["reference"] for r in force_server.records()} == {r.reference for r in reports}
    assert {status_of(sessions, r) for r in reports} == {"disseminated"}
