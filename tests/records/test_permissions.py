"""One table of who may do what: the console's pages and the services behind them agree."""

from __future__ import annotations

import pytest

from ivr.core.permissions import MAY, Action, may
from ivr.models import Dissemination, DisseminationState, StaffRole
from ivr.records.force_outcomes import OutcomeRefused, record_force_outcome
from ivr.records.review import ReviewRefused, approve
from tests.records.conftest import make_report, make_user, routes_to


def test_every_action_has_its_roles():
    assert set(MAY) == set(Action)
    assert may(StaffRole.SUPERVISOR, Action.REVIEW_REPORTS)
    assert not may(StaffRole.ADMIN, Action.REVIEW_REPORTS)
    assert may(StaffRole.ADMIN, Action.MANAGE_USERS)
    assert not may(None, Action.USE_OWN_ACCOUNT)


@pytest.mark.parametrize("role", list(StaffRole))
def test_approving_is_for_the_same_roles_in_the_console_and_in_the_service(
    app, session, forces, role
):
    console_allows = role in app.view_functions["console.approve_report"].allowed_roles
    routes = routes_to(forces, {"kent": ("https", "https://psd.kent.example/helpline")})
    report = make_report(session)
    try:
        approve(session, report, make_user(session, role), routes)
        service_allows = True
    except ReviewRefused:
        service_allows = False
    assert console_allows == service_allows


@pytest.mark.parametrize("role", list(StaffRole))
def test_recording_what_a_force_did_follows_the_table(session, role):
    report = make_report(session)
    user = make_user(session, role)
    refused = False
    try:
        # Refused for the role before anything about the delivery is looked at.
        record_force_outcome(session, _delivery(session, report), "investigation", user)
    except OutcomeRefused as exc:
        refused = "Only a supervisor" in str(exc)
    assert refused == (not may(role, Action.RECORD_FORCE_OUTCOMES))


def _delivery(session, report):  # type: ignore[no-untyped-def]
    row = Dissemination(
        report_id=report.id,
        force_id="kent",
        channel="https",
        destination="https://psd.kent.example/helpline",
        idempotency_key=f"k-{report.id}",
        state=DisseminationState.DELIVERED,
    )
    session.add(row)
    session.commit()
    return row
