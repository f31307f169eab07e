"""A handler's reports: open, save as a draft any time, submit when complete.

Every view and every change writes an audit entry (who, when, what; for a view, why).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from handler_console import conflicts
from handler_console.access import allowed
from handler_console.clock import uk_now_words
from handler_console.listing import is_test_report, list_context
from handler_console.pii_check import findings_context, texts_of_report
from handler_console.report_form import ReportForm, build_form, edit_of, show_problems
from ivr.core.audit import audit
from ivr.core.categories import load_categories
from ivr.core.db import get_session
from ivr.core.permissions import Action, may
from ivr.core.runtime import get_core
from ivr.models import Call, Report, utcnow
from ivr.records import versions
from ivr.records.drafts import Change, DraftEdit, may_edit, save_draft
from ivr.records.limits import MAX_SUBJECTS
from ivr.records.record import get_contact

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
        .options(selectinload(Report.subjects))
        .where(Report.created_by_id == current_user.record.id)
        .order_by(Report.updated_at.desc())
        .limit(100)
    )
    reports = list(mine)
    return render_template("console/my_reports.html", reports=reports, **list_context(reports))


def _load(reference: str) -> Report:
    found = get_session().scalar(select(Report).where(Report.reference == reference))
    if found is None:
        abort(404)
    user = current_user.record
    if found.created_by_id != user.id and not may(user.role, Action.READ_ANY_REPORT):
        abort(403)
    return found


def _may_edit(found: Report) -> bool:
    return may_edit(found, current_user.record)


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


# What an autosave that meets a conflict tells the handler (static/report.js shows it).
AUTOSAVE_CONFLICT = (
    "Not saved automatically: this report was changed in another tab or window since "
    "this page was opened. Autosave has stopped so nothing is overwritten. "
    "Press Save draft to see both versions side by side."
)


@allowed(Action.WRITE_REPORTS)
def save_report(reference: str) -> Response | str | tuple[str, int] | tuple[str, int, dict]:
    found = _load(reference)
    if found.created_by_id != current_user.record.id:
        abort(403)
    runtime = get_core()
    form = build_form(runtime.forces, _categories())
    if not form.validate_on_submit():  # only the CSRF token can fail here
        abort(400)
    autosave = request.headers.get("X-Autosave") == "1"
    started = versions.parse_version(form.version.data)
    edit = edit_of(form)
    if started is None or not _may_edit(found):
        # Submitted meanwhile (another tab, or this tab's own submit before a late
        # autosave), or a form that names no version: keep what was typed, change nothing.
        return _conflict(found, form, edit, started, autosave)
    change, subject_index, confirm = _change_asked(request.form.get("action", "save"))
    try:
        saved = save_draft(
            get_session(),
            found,
            current_user.record,
            edit,
            change,
            runtime.cipher,
            runtime.forces,
            _categories(),
            subject_index=subject_index,
            started_from=started,
        )
    except versions.Conflict:
        return _conflict(found, form, edit, started, autosave)
    if not saved.kept:
        # Over a limit: nothing saved, nothing cut; each field says its limit.
        if autosave:
            return "Not saved: " + " ".join(saved.problems.values()), 422
        db = get_session()
        audit(db, current_user.record, "view", "report", found.reference, reason="editing draft")
        db.commit()
        show_problems(form, saved.problems)
        return _render(found, form, saved.problems, not_saved=True), 422
    if saved.submitted:
        flash(f"Report {found.reference} submitted for review.", "info")
        return redirect(url_for("console.my_reports"))
    if saved.problems:
        form = build_form(runtime.forces, _categories(), found, saved.contact)
        form.version.data = str(saved.version)
        show_problems(form, saved.problems)
        return _render(found, form, saved.problems), 200
    if autosave:
        return "", 204, {"X-Report-Version": str(saved.version)}
    if change == Change.SAVE and not confirm:
        flash(f"Draft saved at {uk_now_words(utcnow())}.", "info")
    anchor = ""
    if change == Change.ADD_SUBJECT:
        anchor = f"#subject-{len(found.subjects) - 1}"
    elif change == Change.REMOVE_SUBJECT:
        flash(f"Person {(subject_index or 0) + 1} removed from the report.", "info")
        anchor = "#subjects"
    elif change == Change.MAKE_ANONYMOUS:
        flash("The contact details are erased: the caller is anonymous now.", "info")
    elif "confirm_remove" in confirm:
        anchor = f"#subject-{confirm['confirm_remove']}"
    elif confirm:
        anchor = "#reporter"
    return redirect(
        url_for("console.report", reference=found.reference, why="editing draft", **confirm)
        + anchor
    )


def _conflict(
    found: Report, form: ReportForm, edit: DraftEdit, started: int | None, autosave: bool
) -> tuple[str, int]:
    """Not saved: the report moved on since this page was drawn. The answer shows the
    stored version beside what was typed, and the form keeps what was typed with the
    version now stored, so saving again keeps what the handler chose."""
    db = get_session()
    db.rollback()
    db.refresh(found)
    if autosave:
        return AUTOSAVE_CONFLICT, 409
    audit(db, current_user.record, "view", "report", found.reference, reason="save conflict")
    db.commit()
    stored_contact = get_contact(found, get_core().cipher)
    form.version.data = str(found.version)
    conflict = {
        "changes": conflicts.since(found, started),
        "differences": conflicts.draft_differences(found, edit, stored_contact),
        "editable": _may_edit(found),
    }
    return _render(found, form, conflict=conflict), 409


def _change_asked(action: str) -> tuple[Change, int | None, dict[str, Any]]:
    """The form's button: "save", "submit", "add_subject", "remove_subject-<n>"…

    Removing a person and erasing contact details ask first (safe forms): their
    buttons save the draft and come back to the page with a question
    (`confirm_remove=<n>`, `confirm_erase=1`); only the question's "Yes" button
    (`confirm_remove_subject-<n>`, `confirm_make_anonymous`) changes anything."""
    if action.startswith("remove_subject-"):
        index = action.removeprefix("remove_subject-")
        return Change.SAVE, None, ({"confirm_remove": index} if index.isdigit() else {})
    if action.startswith("confirm_remove_subject-"):
        index = action.removeprefix("confirm_remove_subject-")
        return Change.REMOVE_SUBJECT, int(index) if index.isdigit() else None, {}
    if action == "make_anonymous":
        return Change.SAVE, None, {"confirm_erase": "1"}
    if action == "confirm_make_anonymous":
        return Change.MAKE_ANONYMOUS, None, {}
    try:
        return Change(action), None, {}
    except ValueError:
        return Change.SAVE, None, {}


def _categories() -> dict[str, Any]:
    return load_categories(get_core().settings.config_dir)


def _render(
    found: Report,
    form: ReportForm,
    problems: dict[str, str] | None = None,
    not_saved: bool = False,
    conflict: dict[str, Any] | None = None,
) -> str:
    runtime = get_core()
    call = get_session().get(Call, found.call_id) if found.call_id else None
    return render_template(
        "console/report.html",
        report=found,
        form=form,
        problems=problems or {},
        not_saved=not_saved,
        conflict=conflict,
        editable=_may_edit(found),
        call=call,
        forces=runtime.forces,
        categories=_categories(),
        max_subjects=MAX_SUBJECTS,
        confirm_remove=request.args.get("confirm_remove", ""),
        confirm_erase=request.args.get("confirm_erase") == "1",
        is_test=is_test_report(found),
        **findings_context(texts_of_report(found), bool(found.anonymous)),
    )
