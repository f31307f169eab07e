"""A report's deliveries as the console shows them: their states in one word, and the
ones failing for too long (the supervisors' alert). The worker is ivr/records/delivery.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.models import Dissemination, DisseminationState, Report, utcnow

# A delivery in one of these states will not be attempted again.
FINISHED = (DisseminationState.DELIVERED, DisseminationState.REDIRECTED)


def deliveries_of(session: Session, report: Report) -> list[Dissemination]:
    """A report's deliveries, oldest first, for the console (see `state_label`)."""
    stmt = (
        select(Dissemination)
        .where(Dissemination.report_id == report.id)
        .order_by(Dissemination.created_at, Dissemination.id)
    )
    return list(session.scalars(stmt))


def state_label(
    dissemination: Dissemination,
    now: datetime | None = None,
    alert_after: timedelta = timedelta(days=1),
) -> str:
    """One word for the console: delivered, redirected, pending, failing or alert
    (failing for longer than `alert_after`); `first_failed_at` and `last_error` say
    since when and why."""
    if dissemination.state in FINISHED:
        return dissemination.state
    if dissemination.first_failed_at is None:
        return DisseminationState.PENDING
    now = now or utcnow()
    return "alert" if now - dissemination.first_failed_at > alert_after else "failing"


def failing_deliveries(
    session: Session, now: datetime | None = None, older_than: timedelta = timedelta(days=1)
) -> list[Dissemination]:
    """Deliveries not yet acknowledged that have been failing for longer than `older_than`:
    what the supervisors' alert shows (oldest failure first)."""
    now = now or utcnow()
    stmt = (
        select(Dissemination)
        .where(
            Dissemination.state == DisseminationState.PENDING,
            Dissemination.first_failed_at.is_not(None),
            Dissemination.first_failed_at <= now - older_than,
        )
        .order_by(Dissemination.first_failed_at, Dissemination.id)
    )
    return list(session.scalars(stmt))
