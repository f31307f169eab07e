"""A supervisor edits a submitted report's free text to take out what could identify
an anonymous caller, before approving it.

Only the text fields pii.py looks at can be changed here (the report's and each
subject's); the rest is the handler's. The edit is audited with the names of the
fields changed, never their values. The form carries the version it was drawn from
(ivr/records/versions.py): an edit started before another supervisor's saved edit is
a conflict, shown beside the stored text, so an older form never puts back what the
other took out. Text over the record's limits (ivr/records/limits.py) is a form error.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import FieldList, Form, FormField, HiddenField, StringField, TextAreaField
from wtforms.validators import ValidationError

from handler_console import conflicts
from handler_console.access import allowed
from handler_console.highlight import KIND_LABELS, by_field, highlight
from handler_console.review_pages import load_report
from ivr.core.audit import audit
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.models import Report, ReportStatus
from ivr.records import pii, versions
from ivr.records.limits import LABELS, MAX_SUBJECTS, SUBJECT_LIMITS, TEXT_LIMITS, over


class _Limit:
    """Over the record's limit: a form error naming the field and the limit."""

    def __init__(self, name: str, limit: int) -> None:
        self.label, self.limit = LABELS[name], limit

    def __call__(self, _form: object, field: object) -> None:
        problem = over(self.label, getattr(field, "data", ""), self.limit)
        if problem:
            raise ValidationError(problem)


def _limit(name: str) -> _Limit:
    return _Limit(name, {**SUBJECT_LIMITS, **TEXT_LIMITS}[name])


class SubjectText(Form):
    name = StringField("Name", validators=[_limit("name")])
    rank = StringField("Rank", validators=[_limit("rank")])
    collar_number = StringField("Collar number", validators=[_limit("collar_number")])
    station = StringField("Station or unit", validators=[_limit("station")])
    description = TextAreaField("Description", validators=[_limit("description")])


class SanitiseForm(FlaskForm):
    version = HiddenField()  # the version the page was drawn from
    what = TextAreaField("What happened", validators=[_limit("what")])
    when_text = StringField("When", validators=[_limit("when_text")])
    where = TextAreaField("Where", validators=[_limit("where")])
    risk_who = TextAreaField("Who is at risk", validators=[_limit("risk_who")])
    evidence = TextAreaField("Evidence", validators=[_limit("evidence")])
    # A report has at most MAX_SUBJECTS people; entries past its own are ignored.
    subjects = FieldList(FormField(SubjectText), max_entries=MAX_SUBJECTS)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/review/<reference>/edit", view_func=sanitise, methods=["GET", "POST"])


@allowed(Action.REVIEW_REPORTS)
def sanitise(reference: str) -> Response | str | tuple[str, int]:
    db = get_session()
    found = load_report(reference)
    form = SanitiseForm(data=_data_of(found))
    if found.status != ReportStatus.SUBMITTED:
        if form.is_submitted() and form.validate():
            # Approved (or returned) while this form was open: keep what was typed.
            return _conflict(found, form, versions.parse_version(form.version.data))
        flash(f"Only a submitted report can be edited; this one is {found.status}.", "error")
        return redirect(url_for("console.review_report", reference=found.reference))
    if form.is_submitted() and form.validate():
        started = versions.parse_version(form.version.data)
        with db.no_autoflush:
            changed = _apply(found, form)
        if not changed:
            db.rollback()
            flash("Nothing was changed.", "info")
            return redirect(url_for("console.review_report", reference=found.reference))
        try:
            version = versions.claim(db, found, started)
        except versions.Conflict:
            return _conflict(found, form, started)
        # The claim holds the row: an approval cannot come in between, but one may
        # have come before it with a version this form did not carry.
        if found.status != ReportStatus.SUBMITTED:
            db.rollback()
            return _conflict(found, form, started)
        audit(
            db,
            current_user.record,
            "sanitise",
            "report",
            found.reference,
            reason="removing what could identify the caller",
            detail={"changed": changed, "version": version},
        )
        db.commit()
        flash(f"Saved: {len(changed)} field{'s' if len(changed) != 1 else ''} changed.", "info")
        return redirect(url_for("console.review_report", reference=found.reference))
    # Shown (first, or again with what to correct): a view of the report.
    return _render(found, form)


def _render(found: Report, form: SanitiseForm, conflict: dict | None = None) -> str:
    db = get_session()
    reason = "save conflict" if conflict else "sanitising"
    audit(db, current_user.record, "view", "report", found.reference, reason=reason)
    db.commit()
    findings = pii.find_in_report(found)
    return render_template(
        "console/review_sanitise.html",
        report=found,
        form=form,
        conflict=conflict,
        marked=by_field(findings),
        mark=highlight,
        kind_labels=KIND_LABELS,
        field_label=pii.field_words,
        approval_refusal=pii.approval_refusal(found),
    )


def _conflict(found: Report, form: SanitiseForm, started: int | None) -> tuple[str, int]:
    """Not saved: the report changed since this form was drawn. The page shows the
    stored text beside the typed, and the form keeps the typed with the version now
    stored; a report no longer submitted can only be read."""
    db = get_session()
    db.rollback()
    db.refresh(found)
    typed = {name: getattr(form, name).data for name in pii.REPORT_FIELDS}
    typed["subjects"] = [
        {name: getattr(entry.form, name).data for name in pii.SUBJECT_FIELDS}
        for entry in form.subjects
    ]
    form.version.data = str(found.version)
    conflict = {
        "changes": conflicts.since(found, started),
        "differences": conflicts.sanitise_differences(found, typed),
        "editable": found.status == ReportStatus.SUBMITTED,
    }
    return _render(found, form, conflict), 409


def _data_of(found: Report) -> dict[str, object]:
    data: dict[str, object] = {name: getattr(found, name) or "" for name in pii.REPORT_FIELDS}
    data["version"] = str(found.version)
    data["subjects"] = [
        {name: getattr(s, name) or "" for name in pii.SUBJECT_FIELDS} for s in found.subjects
    ]
    return data


def _apply(found: Report, form: SanitiseForm) -> list[str]:
    """Write the edited text; the names of the fields that changed, as pii.py names them."""
    changed = []
    for name in pii.REPORT_FIELDS:
        value = _lines(getattr(form, name).data)
        if value != _lines(getattr(found, name)):
            setattr(found, name, value)
            changed.append(name)
    # Subjects are matched by position; extra posted entries are ignored.
    for index, (subject, entry) in enumerate(zip(found.subjects, form.subjects, strict=False)):
        for name in pii.SUBJECT_FIELDS:
            value = _lines(getattr(entry.form, name).data).strip()
            if value != _lines(getattr(subject, name)):
                setattr(subject, name, value)
                changed.append(f"subjects[{index}].{name}")
    return changed


def _lines(text: str | None) -> str:
    """Browsers post a textarea's line breaks as CRLF: not a change."""
    return (text or "").replace("\r\n", "\n")
