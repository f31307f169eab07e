"""Approval needs someone other than the report's writers: a supervisor who took a call
and typed its report, or changed a handler's, cannot approve it themselves."""

from __future__ import annotations

import pytest

from ivr.core.audit import audit
from ivr.records.review import ReviewRefused, approve
from tests.records.conftest import make_report, make_user, routes_to


def test_a_supervisor_cannot_approve_a_report_they_wrote(session, forces):
    routes = routes_to(forces, {"kent": ("https", "https://psd.example/helpline")})
    writer = make_user(session, "supervisor")
    report = make_report(session, created_by_id=writer.id)
    with pytest.raises(ReviewRefused, match="another supervisor must approve it"):
        approve(session, report, writer, routes)
    session.refresh(report)
    assert report.status == "submitted" and report.reviewed_by_id is None
    other = make_user(session, "supervisor")
    assert approve(session, report, other, routes)
    assert report.status == "approved" and report.reviewed_by_id == other.id


def test_nor_one_they_changed_or_submitted_for_a_handler(session, forces):
    routes = routes_to(forces, {"kent": ("https", "https://psd.example/helpline")})
    handler = make_user(session, "handler")
    helper = make_user(session, "supervisor")
    report = make_report(session, created_by_id=handler.id)
    audit(session, helper, "update", "report", report.reference, detail={"changed": ["what"]})
    session.commit()
    with pytest.raises(ReviewRefused, match="or part of it"):
        approve(session, report, helper, routes)


def test_sanitising_is_review_not_writing(session, forces):
    routes = routes_to(forces, {"kent": ("https", "https://psd.example/helpline")})
    handler = make_user(session, "handler")
    reviewer = make_user(session, "supervisor")
    report = make_report(session, created_by_id=handler.id)
    audit(session, reviewer, "sanitise", "report", report.reference)
    session.commit()
    assert approve(session, report, reviewer, routes)
