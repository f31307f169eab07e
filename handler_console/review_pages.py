"""Supervisors: the reports waiting for review, the review page, and the decisions on it
(approve, return to the handler, send to another force).

The decisions are ivr/records/review.py's (each checks, changes and audits in one
transaction, or raises ReviewRefused with a sentence that this page shows).
Every showing of a report's content is audited with its reason.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import case, select
from werkzeug.wrappers import Response
from wtforms import TextAreaField
from wtforms.validators import Length

from handler_console import conflicts
from handler_console.access import allowed
from handler_console.clock import uk_now_words
from handler_console.dissemination import (
    OUTCOME_CHOICES,
    OutcomeForm,
    RedirectForm,
    delivery_rows,
    find_delivery,
    outcome_form,
    redirect_form,
)
from handler_console.highlight import KIND_LABELS, by_field, highlight
from handler_console.listing import list_context
from ivr.core.audit import audit
from ivr.core.categories import load_categories
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.core.runtime import get_core
from ivr.models import RELEASED, Dissemination, Report, ReportStatus, User, utcnow
from ivr.records import force_outcomes, marked_reports, pii, versions
from ivr.records import review as decisions
from ivr.records.delivery_state import state_label
from ivr.records.record import HOW_KNOWN, get_contact

# How many decided reports the review list shows (newest decisions first).
RECENT = 50


CONTACT_LABELS = {
    "name": "Name",
    "phone": "Phone",
    "phone_other": "Other phone",
    "email": "E-mail",
    "safe_times": "Safe times to contact",
    "safe_ways": "Safe ways to contact",
}


class ReturnForm(FlaskForm):
    comment = TextAreaField(
        "What the handler should change",
        validators=[Length(max=5000, message="Keep the comment under 5,000 characters.")],
    )


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/review", view_func=review, methods=["GET"])
    bp.add_url_rule("/review/<reference>", view_func=review_report, methods=["GET"])
    bp.add_url_rule("/review/<reference>/approve", view_func=approve_report, methods=["POST"])
    bp.add_url_rule("/review/<reference>/return", view_func=return_report, methods=["POST"])
    bp.add_url_rule("/review/<reference>/redirect", view_func=redirect_delivery, methods=["POST"])
    bp.add_url_rule("/review/<reference>/close", view_func=close_test_report, methods=["POST"])
    bp.add_url_rule("/review/<reference>/outcome", view_func=record_outcome, methods=["POST"])


def urgent_first():
    return case((Report.urgent.is_(True), 0), else_=1)


@allowed(Action.REVIEW_REPORTS)
def review() -> str:
    db = get_session()
    waiting = decisions.review_queue(db)
    returned = list(
        db.scalars(
            select(Report)
            .where(Report.status == ReportStatus.RETURNED)
            .order_by(urgent_first(), Report.reviewed_at.desc(), Report.id)
            .limit(RECENT)
        )
    )
    # Being sent first (something may still need a supervisor), then the rest.
    sent = list(
        db.scalars(
            select(Report)
            .where(Report.status.in_(RELEASED))
            .order_by(
                case((Report.status == ReportStatus.APPROVED, 0), else_=1),
                urgent_first(),
                Report.reviewed_at.desc(),
                Report.id,
            )
            .limit(RECENT)
        )
    )
    states: dict[int, Counter[str]] = {r.id: Counter() for r in sent}
    if sent:
        alert_after = timedelta(seconds=get_core().settings.delivery_alert_after_seconds)
        now = utcnow()
        for d in db.scalars(select(Dissemination).where(Dissemination.report_id.in_(states))):
            states[d.report_id][state_label(d, now=now, alert_after=alert_after)] += 1
    return render_template(
        "console/review.html",
        waiting=waiting,
        returned=returned,
        sent=sent,
        states=states,
        handlers=_usernames(r.created_by_id for r in [*waiting, *returned, *sent]),
        **list_context([*waiting, *returned, *sent]),
    )


@allowed(Action.REVIEW_REPORTS)
def review_report(reference: str) -> str:
    return render_review(load_report(reference))


@allowed(Action.REVIEW_REPORTS)
def approve_report(reference: str) -> Response | str | tuple[str, int]:
    found = load_report(reference)
    db = get_session()
    # The version the supervisor read: approval is of that text, or of nothing.
    started = versions.parse_version(request.form.get("version"))
    try:
        if started is None:
            raise versions.Conflict(found.reference, None)
        outbox = decisions.approve(
            db, found, current_user.record, get_core().routes, started_from=started
        )
    except decisions.ReviewRefused as exc:
        return render_review(found, refusal=f"Not approved: {exc}")
    except versions.Conflict:
        db.rollback()
        db.refresh(found)
        return render_review(found, refusal=_approval_conflict(found, started)), 409
    forces = get_core().forces
    to = ", ".join(forces.name(d.force_id) for d in outbox)
    flash(f"Report {found.reference} approved: it is being sent to {to}.", "info")
    return redirect(url_for("console.review_report", reference=found.reference))


def _approval_conflict(found: Report, started: int | None) -> str:
    """Why an approval did not go through when the report moved on since it was read."""
    changes = conflicts.since(found, started)
    if found.status in RELEASED:
        by = _usernames([found.reviewed_by_id]).get(found.reviewed_by_id or 0, "another supervisor")
        when = f" at {uk_now_words(found.reviewed_at)}" if found.reviewed_at else ""
        return f"Not approved again: {by} already approved it{when}."
    said = f" ({conflicts.since_sentence(changes)})" if changes else ""
    return (
        f"Not approved: the report was changed after you opened it{said}. "
        "It is shown below as it is now: read it again, then approve it if it is right."
    )


@allowed(Action.REVIEW_REPORTS)
def return_report(reference: str) -> Response | str:
    found = load_report(reference)
    form = ReturnForm()
    if not form.validate():
        return render_review(found, return_form=form)
    try:
        decisions.return_to_handler(
            get_session(), found, current_user.record, form.comment.data or ""
        )
    except decisions.ReviewRefused as exc:
        form.comment.errors = [str(exc)]
        return render_review(found, return_form=form)
    author = found.created_by_id
    handler = _usernames([author]).get(author, "the handler") if author else "the handler"
    flash(f"Report {found.reference} returned to {handler}.", "info")
    return redirect(url_for("console.review"))


@allowed(Action.RECORD_FORCE_OUTCOMES)
def record_outcome(reference: str) -> Response | str:
    """What the force did with a delivery, from its reply: recorded and audited."""
    found = load_report(reference)
    db = get_session()
    runtime = get_core()
    form = OutcomeForm()
    target = find_delivery(db, found, form.delivery.data or "")
    if target is None or not form.validate():
        return render_review(found, refusal="Not recorded: choose a delivery and what it did.")
    try:
        force_outcomes.record_force_outcome(
            db,
            target,
            form.outcome.data or "",
            current_user.record,
            note=(form.note.data or "").strip() or None,
            passed_to=form.passed_to.data or None,
            forces=runtime.forces,
        )
    except force_outcomes.OutcomeRefused as exc:
        db.rollback()
        return render_review(found, refusal=f"Not recorded: {exc}", outcome_form_=form)
    flash(
        f"Recorded for {runtime.forces.name(target.force_id)}: "
        f"{dict(OUTCOME_CHOICES).get(form.outcome.data or '', form.outcome.data)}.",
        "info",
    )
    return redirect(url_for("console.review_report", reference=found.reference) + "#outcomes")


@allowed(Action.REVIEW_REPORTS)
def close_test_report(reference: str) -> Response | str:
    found = load_report(reference)
    try:
        marked_reports.close_test_report(get_session(), found, current_user.record)
    except marked_reports.CloseRefused as exc:
        return render_review(found, refusal=f"Not closed: {exc}")
    flash(f"Test report {found.reference} closed. Nothing was sent.", "info")
    return redirect(url_for("console.review"))


@allowed(Action.REVIEW_REPORTS)
def redirect_delivery(reference: str) -> Response | str:
    found = load_report(reference)
    db = get_session()
    runtime = get_core()
    form = redirect_form(delivery_rows(db, found), runtime.forces, RedirectForm())
    target = find_delivery(db, found, form.delivery.data or "")
    if not form.validate() or target is None:
        if target is None:
            form.delivery.errors = ["Choose the delivery to redirect."]
        return render_review(found, redirect_form_=form)
    try:
        new = decisions.redirect(
            db,
            target,
            form.force.data or "",
            form.reason.data or "",
            current_user.record,
            runtime.routes,
        )
    except decisions.ReviewRefused as exc:
        return render_review(found, refusal=f"Not redirected: {exc}", redirect_form_=form)
    flash(
        f"Report {found.reference} redirected to {runtime.forces.name(new.force_id)}.",
        "info",
    )
    return redirect(url_for("console.review_report", reference=found.reference))


def render_review(
    found: Report,
    refusal: str | None = None,
    return_form: ReturnForm | None = None,
    redirect_form_: RedirectForm | None = None,
    outcome_form_: OutcomeForm | None = None,
) -> str:
    """The review page. Showing it shows the report: audited with its reason."""
    db = get_session()
    runtime = get_core()
    db.refresh(found)  # a refused decision rolled back: show what is stored
    audit(db, current_user.record, "view", "report", found.reference, reason="reviewing")
    db.commit()
    findings = pii.find_in_report(found)
    routing_problem, going_to = None, []
    is_test = marked_reports.is_test_report(db, found)
    if found.status == ReportStatus.SUBMITTED and not is_test:
        try:
            going_to = decisions.destinations(found, runtime.routes)
        except decisions.ReviewRefused as exc:
            routing_problem = str(exc)
    rows = delivery_rows(db, found)
    categories = load_categories(runtime.settings.config_dir)
    return render_template(
        "console/review_report.html",
        report=found,
        findings=findings,
        marked=by_field(findings),
        mark=highlight,
        kind_labels=KIND_LABELS,
        field_label=pii.field_words,
        approval_refusal=(
            pii.approval_refusal(found) if found.status == ReportStatus.SUBMITTED else None
        ),
        refusal=refusal,
        routing_problem=routing_problem,
        going_to=going_to,
        deliveries=rows,
        return_form=return_form or ReturnForm(formdata=None),
        redirect_form=redirect_form_ or redirect_form(rows, runtime.forces, None),
        people=_usernames([found.created_by_id, found.reviewed_by_id]),
        forces=runtime.forces,
        categories=categories,
        how_known=HOW_KNOWN,
        contact=None if found.anonymous else get_contact(found, runtime.cipher),
        contact_labels=CONTACT_LABELS,
        outcome_forms=[
            (
                row,
                outcome_form(
                    row,
                    runtime.forces,
                    outcome_form_
                    if outcome_form_ is not None and outcome_form_.delivery.data == str(row.id)
                    else None,
                ),
            )
            for row in rows
            if row.state == "delivered"
        ],
        is_test=is_test,
    )


def load_report(reference: str) -> Report:
    found = get_session().scalar(select(Report).where(Report.reference == reference))
    if found is None:
        abort(404)
    return found


def _usernames(ids) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = get_session().execute(select(User.id, User.username).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}
