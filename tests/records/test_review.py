"""A supervisor approves (writing the outbox in the same transaction), returns or redirects."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ivr.models import AuditEntry, Dissemination, Report
from ivr.records.review import ReviewRefused, approve, redirect, return_to_handler, review_queue
from ivr.records.versions import Conflict
from tests.records.conftest import make_report, make_user, routes_to


@pytest.fixture
def routes(forces):
    return routes_to(
        forces,
        {
            "kent": ("https", "https://psd.kent.example/helpline"),
            "essex": ("email", "psd@essex.example"),
            "metropolitan": ("https", "https://acac.met.example/helpline"),
        },
    )


def audit_actions(session, report):
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.record_type == "report", AuditEntry.record_id == report.reference)
            .order_by(AuditEntry.id)
        )
    )


def test_approval_writes_one_dissemination_per_force_and_audits_to_whom(session, routes):
    supervisor = make_user(session)
    report = make_report(session, ("kent", "essex", "kent"))
    outbox = approve(session, report, supervisor, routes)
    session.expire_all()
    rows = session.scalars(select(Dissemination).order_by(Dissemination.force_id)).all()
    assert [(d.force_id, d.channel, d.destination, d.state) for d in rows] == [
        ("essex", "email", "psd@essex.example", "pending"),
        ("kent", "https", "https://psd.kent.example/helpline", "pending"),
    ]
    assert {d.id for d in outbox} == {d.id for d in rows}
    assert len({d.idempotency_key for d in rows}) == 2
    assert session.get(Report, report.id).status == "approved"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "approve")).one()
    assert entry.user_id == supervisor.id
    assert {t["force"] for t in entry.detail["to"]} == {"kent", "essex"}
    assert "Kent Police Professional Standards Department" in {
        t["destination"] for t in entry.detail["to"]
    }


def test_the_met_goes_to_its_anti_corruption_and_abuse_command(session, routes):
    report = make_report(session, ("metropolitan",))
    approve(session, report, make_user(session), routes)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "approve")).one()
    assert entry.detail["to"][0]["destination"].endswith("Anti-Corruption and Abuse Command")


def test_an_anonymous_report_with_a_phone_number_is_refused_and_nothing_changes(session, routes):
    report = make_report(session, what="The caller's mobile is 07700 900123.")
    with pytest.raises(ReviewRefused, match="phone number in What happened"):
        approve(session, report, make_user(session), routes)
    session.expire_all()
    assert session.get(Report, report.id).status == "submitted"
    assert session.scalar(select(func.count()).select_from(Dissemination)) == 0
    assert audit_actions(session, report) == []


def test_an_unknown_force_is_refused_without_a_fallback_and_routed_to_it_with_one(
    session, routes, forces
):
    supervisor = make_user(session)
    report = make_report(session, ("kent", "unknown"))
    with pytest.raises(ReviewRefused, match="force is not known"):
        approve(session, report, supervisor, routes)
    with_fallback = routes_to(
        forces,
        {"kent": ("https", "https://k.example/"), "metropolitan": ("https", "https://m.example/")},
        fallback="metropolitan",
    )
    outbox = approve(session, report, supervisor, with_fallback)
    assert sorted(d.force_id for d in outbox) == ["kent", "metropolitan"]


def test_a_force_without_a_destination_refuses_approval_with_a_reason(session, routes):
    report = make_report(session, ("devon-and-cornwall",))
    with pytest.raises(ReviewRefused, match="Devon & Cornwall Police has no destination"):
        approve(session, report, make_user(session), routes)


def test_only_supervisors_review_and_only_submitted_reports(session, routes):
    report = make_report(session)
    with pytest.raises(ReviewRefused, match="Only a supervisor"):
        approve(session, report, make_user(session, "handler"), routes)
    draft = make_report(session, status="draft")
    with pytest.raises(ReviewRefused, match="this one is draft"):
        approve(session, draft, make_user(session), routes)


def test_return_to_handler_needs_a_comment_and_is_audited_with_it(session):
    supervisor = make_user(session)
    report = make_report(session)
    with pytest.raises(ReviewRefused, match="Say what"):
        return_to_handler(session, report, supervisor, "  ")
    return_to_handler(session, report, supervisor, "Remove the street name.")
    session.expire_all()
    report = session.get(Report, report.id)
    assert (report.status, report.return_comment) == ("returned", "Remove the street name.")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "return")).one()
    assert (entry.user_id, entry.reason) == (supervisor.id, "Remove the street name.")


def test_review_queue_puts_urgent_reports_first(session):
    calm = make_report(session)
    urgent = make_report(session, urgent=True)
    make_report(session, status="draft")
    assert [r.id for r in review_queue(session)] == [urgent.id, calm.id]


def test_redirect_replaces_a_pending_delivery_and_is_audited(session, routes):
    supervisor = make_user(session)
    report = make_report(session, ("kent",))
    (first,) = approve(session, report, supervisor, routes)
    with pytest.raises(ReviewRefused, match="reason"):
        redirect(session, first, "essex", "", supervisor, routes)
    new = redirect(session, first, "essex", "The officer moved to Essex.", supervisor, routes)
    session.expire_all()
    assert session.get(Dissemination, first.id).state == "redirected"
    new = session.get(Dissemination, new.id)
    assert (new.force_id, new.state, new.redirect_reason) == (
        "essex",
        "pending",
        "The officer moved to Essex.",
    )
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "redirect")).one()
    assert entry.reason == "The officer moved to Essex."
    assert (entry.detail["from"], entry.detail["to"]) == ("kent", "essex")
    with pytest.raises(ReviewRefused, match="already been redirected"):
        redirect(session, first, "metropolitan", "again", supervisor, routes)
    with pytest.raises(ReviewRefused, match="already goes to Essex"):
        redirect(session, report, "essex", "again", supervisor, routes)


def test_redirecting_a_report_needs_it_to_have_one_delivery(session, routes):
    supervisor = make_user(session)
    report = make_report(session, ("kent", "essex"))
    approve(session, report, supervisor, routes)
    with pytest.raises(ReviewRefused, match="choose which delivery"):
        redirect(session, report, "metropolitan", "wrong forces", supervisor, routes)


def test_approval_is_one_transaction_if_the_outbox_cannot_be_written_nothing_changes(
    session, routes
):
    report = make_report(session, ("kent",))
    # A row already in the way of the outbox row approval will write.
    session.add(
        Dissemination(
            report_id=report.id,
            force_id="kent",
            channel="https",
            destination="x",
            idempotency_key="in-the-way",
        )
    )
    session.commit()
    with pytest.raises(IntegrityError):
        approve(session, report, make_user(session), routes)
    session.rollback()
    session.expire_all()
    assert session.get(Report, report.id).status == "submitted"
    assert audit_actions(session, report) == []


def test_two_supervisors_approving_at_once_make_one_outbox(database_url, sessions, routes):
    """On SQLite as on PostgreSQL (issue 13 item 11: on SQLite the second approval's
    deliveries hit the unique key, an IntegrityError): the second finds the version gone."""
    with sessions() as setup:
        report = make_report(setup, ("kent", "essex"))
        supervisors = [make_user(setup), make_user(setup)]
    start = threading.Barrier(2)
    outcomes = []

    def act(supervisor):
        with sessions() as own:
            start.wait()
            try:
                approve(own, own.get(Report, report.id), supervisor, routes)
                outcomes.append("approved")
            except (ReviewRefused, Conflict) as exc:
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=act, args=(s,)) for s in supervisors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["Conflict", "approved"]
    with sessions() as check:
        assert check.scalar(select(func.count()).select_from(Dissemination)) == 2


def test_an_admin_manages_accounts_and_does_not_review(session, routes):
    """The console never let an admin review; the service used to (REVIEWERS had admin)."""
    admin = make_user(session, "admin")
    report = make_report(session)
    with pytest.raises(ReviewRefused, match="Only a supervisor"):
        approve(session, report, admin, routes)
    with pytest.raises(ReviewRefused, match="Only a supervisor"):
        return_to_handler(session, report, admin, "Remove the street name.")
    approved = make_report(session)
    approve(session, approved, make_user(session), routes)
    with pytest.raises(ReviewRefused, match="Only a supervisor"):
        redirect(session, approved, "essex", "Wrong force", admin, routes)
    session.expire_all()
    assert session.get(Report, report.id).status == "submitted"
    assert audit_actions(session, report) == []
