"""Reports typed from test calls (training, checking a change): marked, never sent, closable.

A test call's report never reaches a force (review.approve refuses it). Once the
training or the check is done a supervisor closes it: its status becomes
"closed", so it leaves the review list and the handler's open work, and the
closing is audited like any other decision.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.audit import audit
from ivr.core.permissions import Action, may
from ivr.models import Call, Report, ReportStatus, User, utcnow
from ivr.records import versions

CLOSED = ReportStatus.CLOSED


class CloseRefused(Exception):
    """Not closed; the message says why."""


def is_test_report(session: Session, report: Report) -> bool:
    if report.call_id is None:
        return False
    return bool(session.scalar(select(Call.is_test).where(Call.id == report.call_id)))


def close_test_report(
    session: Session, report: Report, supervisor: User, now: datetime | None = None
) -> None:
    if not may(supervisor.role, Action.REVIEW_REPORTS):
        raise CloseRefused("Only a supervisor closes a test report.")
    if not is_test_report(session, report):
        raise CloseRefused("Only a test call's report can be closed here.")
    if report.status == CLOSED:
        raise CloseRefused("This test report is closed already.")
    now = now or utcnow()
    previous = report.status
    version = versions.bump(session, report)  # an open edit or handler's tab stops saving
    report.status = CLOSED
    report.reviewed_by_id = supervisor.id
    report.reviewed_at = now
    audit(
        session,
        supervisor,
        "close",
        "report",
        report.reference,
        reason="test call",
        detail={"previous": previous, "version": version},
        at=now,
    )
    session.commit()
