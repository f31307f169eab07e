"""A supervisor's decisions on a submitted report: approve, return, redirect.

Each function checks, changes, audits and commits in one transaction, or
raises ReviewRefused (with a sentence for the supervisor) and changes nothing.
Approval writes the report's outbox rows (one Dissemination per destination
force) in the same transaction as the status change: the delivery worker
(ivr/records/delivery.py) sends them; nothing here touches the network.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from ivr.core.audit import audit
from ivr.core.permissions import Action, may
from ivr.core.routing import Route, Routes, RoutingError
from ivr.models import (
    RELEASED,
    AuditEntry,
    Call,
    Dissemination,
    DisseminationState,
    Report,
    ReportStatus,
    User,
    utcnow,
)
from ivr.records import pii, versions


class ReviewRefused(Exception):
    """The action is refused; the message says why, in words for the supervisor."""


def review_queue(session: Session) -> list[Report]:
    """Submitted reports waiting for a supervisor: urgent first, then oldest first."""
    urgent_first = case((Report.urgent.is_(True), 0), else_=1)
    stmt = (
        select(Report)
        .where(Report.status == ReportStatus.SUBMITTED)
        .order_by(urgent_first, Report.submitted_at, Report.id)
    )
    return list(session.scalars(stmt))


def destinations(report: Report, routes: Routes) -> list[Route]:
    """One route per force the report's subjects belong to (a report about no
    named force goes to the fallback force, if one is set)."""
    forces = [subject.force or "unknown" for subject in report.subjects] or ["unknown"]
    chosen: dict[str, Route] = {}
    for force_id in forces:
        try:
            route = routes.for_force(force_id)
        except RoutingError as exc:
            raise ReviewRefused(str(exc)) from None
        chosen.setdefault(route.force_id, route)
    return list(chosen.values())


def approve(
    session: Session,
    report: Report,
    supervisor: User,
    routes: Routes,
    now: datetime | None = None,
    started_from: int | None = None,
) -> list[Dissemination]:
    """Approve a submitted report and queue it for each destination force.

    `started_from` is the version the supervisor read (by default the version of
    `report` as the caller loaded it): if the report has changed since, or another
    supervisor approved it first, versions.Conflict is raised and nothing changes."""
    now = now or utcnow()
    _require_reviewer(supervisor)
    started = report.version if started_from is None else started_from
    # The claim is the first write: of two approvals at once, the second finds the
    # version moved on (no second set of deliveries, no IntegrityError).
    version = versions.claim(session, report, started)
    report = _reread(session, report)
    try:
        if report.status != ReportStatus.SUBMITTED:
            raise ReviewRefused(
                f"Only a submitted report can be approved; this one is {report.status}."
            )
        _refuse_test_call(session, report)
        if supervisor.id in authors(session, report):
            raise ReviewRefused(
                "You wrote this report, or part of it: another supervisor must approve it."
            )
        refusal = pii.approval_refusal(report)
        if refusal:
            raise ReviewRefused(refusal)
        chosen = destinations(report, routes)
    except ReviewRefused:
        session.rollback()
        raise
    outbox = [_dissemination(report, route, now) for route in chosen]
    session.add_all(outbox)
    report.status = ReportStatus.APPROVED
    report.reviewed_by_id = supervisor.id
    report.reviewed_at = now
    report.return_comment = None
    audit(
        session,
        supervisor,
        "approve",
        "report",
        report.reference,
        detail={
            "reference": report.reference,
            # The disclosure this approval authorises, and to whom (s.62).
            "to": [{"force": r.force_id, "destination": r.description} for r in chosen],
            "version": version,
        },
        at=now,
    )
    session.commit()
    return outbox


# What a report's writers do to it (ivr/records/record.py, handler_console/reports.py);
# a supervisor's sanitising is review, not writing.
AUTHOR_ACTIONS = ("create", "reassign", "update", "submit", "erase")


def authors(session: Session, report: Report) -> set[int]:
    """Everyone who wrote any of the report: its owner and whoever the audit trail shows
    creating, taking over, changing, submitting or erasing part of it."""
    wrote = session.scalars(
        select(AuditEntry.user_id).where(
            AuditEntry.record_type == "report",
            AuditEntry.record_id == report.reference,
            AuditEntry.action.in_(AUTHOR_ACTIONS),
            AuditEntry.user_id.is_not(None),
        )
    )
    found = {user_id for user_id in wrote if user_id is not None}
    if report.created_by_id is not None:
        found.add(report.created_by_id)
    return found


def _refuse_test_call(session: Session, report: Report) -> None:
    """A report typed from a test call (training, checking a change) is never sent."""
    call = session.get(Call, report.call_id) if report.call_id else None
    if call is not None and call.is_test:
        raise ReviewRefused("This report comes from a test call: it is never sent to a force.")


def return_to_handler(
    session: Session,
    report: Report,
    supervisor: User,
    comment: str,
    now: datetime | None = None,
) -> None:
    """Send a submitted report back to its handler, saying what to fix."""
    now = now or utcnow()
    _require_reviewer(supervisor)
    comment = (comment or "").strip()
    if not comment:
        raise ReviewRefused("Say what the handler should change before returning the report.")
    report = _locked_report(session, report)
    if report.status != ReportStatus.SUBMITTED:
        session.rollback()
        raise ReviewRefused(
            f"Only a submitted report can be returned; this one is {report.status}."
        )
    # Forms drawn before the return (an approve button, an edit) no longer save.
    version = versions.bump(session, report)
    report.status = ReportStatus.RETURNED
    report.return_comment = comment
    report.reviewed_by_id = supervisor.id
    report.reviewed_at = now
    audit(
        session,
        supervisor,
        "return",
        "report",
        report.reference,
        reason=comment,
        detail={"version": version},
        at=now,
    )
    session.commit()


def redirect(
    session: Session,
    target: Dissemination | Report,
    to_force: str,
    reason: str,
    supervisor: User,
    routes: Routes,
    now: datetime | None = None,
) -> Dissemination:
    """Send an approved report to another force instead of (or, when the first
    delivery has already happened, as well as) the one it was routed to.

    `target` is the delivery to redirect, or a report with exactly one.
    """
    now = now or utcnow()
    _require_reviewer(supervisor)
    reason = (reason or "").strip()
    if not reason:
        raise ReviewRefused("Give the reason for sending the report to another force.")
    if to_force not in routes.forces.forces:
        raise ReviewRefused("Choose the force to send the report to.")
    report_id = target.id if isinstance(target, Report) else target.report_id
    report = _locked_report(session, session.get_one(Report, report_id))
    try:
        _refuse_test_call(session, report)
        old = _redirected_delivery(session, target, report)
        if report.status not in RELEASED:
            raise ReviewRefused("Only an approved report can be redirected.")
        if old.state == DisseminationState.REDIRECTED:
            raise ReviewRefused("This delivery has already been redirected.")
        if old.force_id == to_force:
            raise ReviewRefused(f"The report already goes to {routes.forces.name(to_force)}.")
        existing = session.scalar(
            select(Dissemination).where(
                Dissemination.report_id == report.id, Dissemination.force_id == to_force
            )
        )
        if existing is not None:
            raise ReviewRefused(f"The report already goes to {routes.forces.name(to_force)}.")
        try:
            route = routes.for_force(to_force)
        except RoutingError as exc:
            raise ReviewRefused(str(exc)) from None
    except ReviewRefused:
        session.rollback()
        raise
    already_delivered = old.state == DisseminationState.DELIVERED
    if not already_delivered:
        old.state = DisseminationState.REDIRECTED
    new = _dissemination(report, route, now)
    new.redirect_reason = reason
    session.add(new)
    # A delivery is outstanding again, so the report is no longer fully disseminated.
    report.status = ReportStatus.APPROVED
    session.flush()
    audit(
        session,
        supervisor,
        "redirect",
        "report",
        report.reference,
        reason=reason,
        detail={
            "from": old.force_id,
            "to": route.force_id,
            "destination": route.description,
            "from_dissemination": old.id,
            "to_dissemination": new.id,
            "first_already_delivered": already_delivered,
        },
        at=now,
    )
    session.commit()
    return new


def _dissemination(report: Report, route: Route, now: datetime) -> Dissemination:
    return Dissemination(
        report_id=report.id,
        force_id=route.force_id,
        channel=route.channel,
        destination=route.target,
        # Fixed for the life of the delivery: the force drops any repeat it receives.
        idempotency_key=uuid.uuid4().hex,
        state=DisseminationState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def _redirected_delivery(
    session: Session, target: Dissemination | Report, report: Report
) -> Dissemination:
    if isinstance(target, Dissemination):
        return session.execute(
            select(Dissemination)
            .where(Dissemination.id == target.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
    active = list(
        session.scalars(
            select(Dissemination)
            .where(
                Dissemination.report_id == report.id,
                Dissemination.state != DisseminationState.REDIRECTED,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    if len(active) != 1:
        raise ReviewRefused(
            "This report goes to several forces: choose which delivery to redirect."
        )
    return active[0]


def _require_reviewer(user: User) -> None:
    if user is None or not user.active or not may(user.role, Action.REVIEW_REPORTS):
        raise ReviewRefused("Only a supervisor can do this.")


def _reread(session: Session, report: Report) -> Report:
    """The report as stored now, in this transaction (after the claim, nobody else's
    save can come in between)."""
    return session.execute(
        select(Report).where(Report.id == report.id).execution_options(populate_existing=True)
    ).scalar_one()


def _locked_report(session: Session, report: Report) -> Report:
    """The report re-read under a row lock (PostgreSQL), so two supervisors
    acting at once are served one after the other."""
    return session.execute(
        select(Report)
        .where(Report.id == report.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
