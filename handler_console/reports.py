"""A handler's reports: open, save as a draft any time, submit when complete.

Every view and every change writes an audit entry (who, when, what; for a view, why).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from handler_console.access import allowed
from handler_console.report_form import (
    MAX_SUBJECTS,
    ReportForm,
    apply_form,
    build_form,
    show_problems,
)
from ivr.core.audit import audit
from ivr.core.categories import load_categories
from ivr.core.db import get_session
from ivr.core.permissions import Action, may
from ivr.core.runtime import get_core
from ivr.models import Call, Report, ReportStatus, ReportSubject, utcnow
from ivr.records.record import (
    get_contact,
    normalised_contact,
    set_contact,
    submission_problems,
)

EDITABLE = (ReportStatus.DRAFT, ReportStatus.RETURNED)
# Why a report is being looked at, as the link that opens it says (DPA 2018 s.62).
VIEW_REASONS = {
    "taking call": "taking call",
    "editing draft": "editing draft",
    "reviewing": "reviewing",
    "reading": "reading report",
}


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/reports", view_func=my_reports, methods=["GET"])
    bp.add_url_rule("/reports/<reference>", view_func=report, methods=["GET"])
    bp.add_url_rule("/reports/<reference>", view_func=save_report, methods=["POST"])


@allowed(Action.WRITE_REPORTS)
def my_reports() -> str:
    mine = get_session().scalars(
        select(Report)
        .where(Report.created_by_id == current_user.record.id)
        .order_by(Report.updated_at.desc())
        .limit(100)
    )
    return render_template("console/my_reports.html", reports=list(mine))


def _load(reference: str) -> Report:
    found = get_session().scalar(select(Report).where(Report.reference == reference))
    if found is None:
        abort(404)
    user = current_user.record
    if found.created_by_id != user.id and not may(user.role, Action.READ_ANY_REPORT):
        abort(403)
    return found


def _may_edit(found: Report) -> bool:
    return found.status in EDITABLE and found.created_by_id == current_user.record.id


@allowed(Action.WRITE_REPORTS)
def report(reference: str) -> str:
    found = _load(reference)
    reason = VIEW_REASONS.get(request.args.get("why", ""))
    if reason is None:
        reason = "editing draft" if _may_edit(found) else "reading report"
    db = get_session()
    audit(db, current_user.record, "view", "report", found.reference, reason=reason)
    db.commit()
    runtime = get_core()
    contact = get_contact(found, runtime.cipher)
    form = build_form(runtime.forces, _categories(), found, contact)
    return _render(found, form)


@allowed(Action.WRITE_REPORTS)
def save_report(reference: str) -> Response | str | tuple[str, int]:
    found = _load(reference)
    if not _may_edit(found):
        abort(403)
    runtime = get_core()
    db = get_session()
    action = request.form.get("action", "save")
    before = _snapshot(found, runtime)
    form = build_form(runtime.forces, _categories())
    if not form.validate_on_submit():  # only the CSRF token can fail here
        abort(400)
    contact = apply_form(found, form)
    anchor = ""
    if action == "add_subject" and len(found.subjects) < MAX_SUBJECTS:
        found.subjects.append(ReportSubject(position=len(found.subjects)))
        anchor = f"#subject-{len(found.subjects) - 1}"
    elif action.startswith("remove_subject-"):
        index = action.removeprefix("remove_subject-")
        if index.isdigit() and int(index) < len(found.subjects):
            del found.subjects[int(index)]
            for position, subject in enumerate(found.subjects):
                subject.position = position
        anchor = "#subjects"
    elif action == "make_anonymous":
        found.anonymous = True
    elif action == "make_contact":
        found.anonymous = False
    set_contact(found, runtime.cipher, contact)
    changed = _changes(before, _snapshot(found, runtime))
    if before.get("contact") and not found.contact_enc:
        audit(
            db,
            current_user.record,
            "erase",
            "report",
            found.reference,
            detail={"erased": "contact"},
        )

    if action == "submit":
        problems = submission_problems(found, contact, runtime.forces, _categories())
        if problems:
            audit(
                db,
                current_user.record,
                "update",
                "report",
                found.reference,
                detail={"changed": changed, "submit_refused": sorted(problems)},
            )
            db.commit()
            form = build_form(runtime.forces, _categories(), found, contact)
            show_problems(form, problems)
            return _render(found, form, problems), 200
        set_contact(found, runtime.cipher, normalised_contact(contact))
        found.status = ReportStatus.SUBMITTED
        found.submitted_at = utcnow()
        audit(
            db,
            current_user.record,
            "submit",
            "report",
            found.reference,
            detail={"changed": changed},
        )
        db.commit()
        flash(f"Report {found.reference} submitted for review.", "info")
        return redirect(url_for("console.my_reports"))

    if changed:
        audit(
            db,
            current_user.record,
            "update",
            "report",
            found.reference,
            detail={"changed": changed},
        )
    db.commit()
    if request.headers.get("X-Autosave") == "1":
        return "", 204  # type: ignore[return-value]
    if action == "save":
        flash(f"Draft saved at {utcnow().strftime('%H:%M:%S')} UTC.", "info")
    return redirect(
        url_for("console.report", reference=found.reference, why="editing draft") + anchor
    )


def _categories() -> dict[str, Any]:
    return load_categories(get_core().settings.config_dir)


def _snapshot(found: Report, runtime: Any) -> dict[str, Any]:
    """The report's content, to name the fields a change touched (never their values)."""
    return {
        "categories": list(found.categories or []),
        "what": found.what,
        "when": (found.when_text, found.when_approximate),
        "where": found.where,
        "how_known": found.how_known,
        "risk": (found.risk_now, found.risk_who),
        "evidence": found.evidence,
        "anonymous": found.anonymous,
        "subjects": [
            (s.name, s.description, s.rank, s.collar_number, s.role, s.force, s.station)
            for s in found.subjects
        ],
        "contact": get_contact(found, runtime.cipher),
    }


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [key for key in before if before[key] != after[key]]


def _render(found: Report, form: ReportForm, problems: dict[str, str] | None = None) -> str:
    runtime = get_core()
    call = get_session().get(Call, found.call_id) if found.call_id else None
    return render_template(
        "console/report.html",
        report=found,
        form=form,
        problems=problems or {},
        editable=_may_edit(found),
        call=call,
        forces=runtime.forces,
        categories=_categories(),
        max_subjects=MAX_SUBJECTS,
    )
