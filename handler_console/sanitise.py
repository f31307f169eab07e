"""A supervisor edits a submitted report's free text to take out what could identify
an anonymous caller, before approving it.

Only the text fields pii.py looks at can be changed here (the report's and each
subject's); the rest is the handler's. The edit is audited with the names of the
fields changed, never their values.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import FieldList, Form, FormField, StringField, TextAreaField
from wtforms.validators import Length

from handler_console.access import allowed
from handler_console.highlight import KIND_LABELS, by_field, highlight
from handler_console.review_pages import load_report
from ivr.core.audit import audit
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.models import Report, ReportStatus
from ivr.records import pii
from ivr.records.drafts import MAX_SUBJECTS, SUBJECT_LIMITS, TEXT_LIMITS


def _limit(size: int) -> Length:
    return Length(max=size, message=f"At most {size:,} characters.")


class SubjectText(Form):
    name = StringField("Name", validators=[_limit(SUBJECT_LIMITS["name"])])
    rank = StringField("Rank", validators=[_limit(SUBJECT_LIMITS["rank"])])
    collar_number = StringField(
        "Collar number", validators=[_limit(SUBJECT_LIMITS["collar_number"])]
    )
    station = StringField("Station or unit", validators=[_limit(SUBJECT_LIMITS["station"])])
    description = TextAreaField("Description", validators=[_limit(SUBJECT_LIMITS["description"])])


class SanitiseForm(FlaskForm):
    what = TextAreaField("What happened", validators=[_limit(TEXT_LIMITS["what"])])
    when_text = StringField("When", validators=[_limit(TEXT_LIMITS["when_text"])])
    where = TextAreaField("Where", validators=[_limit(TEXT_LIMITS["where"])])
    risk_who = TextAreaField("Who is at risk", validators=[_limit(TEXT_LIMITS["risk_who"])])
    evidence = TextAreaField("Evidence", validators=[_limit(TEXT_LIMITS["evidence"])])
    subjects = FieldList(FormField(SubjectText), max_entries=MAX_SUBJECTS)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/review/<reference>/edit", view_func=sanitise, methods=["GET", "POST"])


@allowed(Action.REVIEW_REPORTS)
def sanitise(reference: str) -> Response | str:
    db = get_session()
    found = load_report(reference)
    if found.status != ReportStatus.SUBMITTED:
        flash(f"Only a submitted report can be edited; this one is {found.status}.", "error")
        return redirect(url_for("console.review_report", reference=found.reference))
    form = SanitiseForm(data=_data_of(found))
    if form.is_submitted() and form.validate():
        # Re-read under a row lock: an approval in between must not be edited after.
        found = db.execute(
            select(Report)
            .where(Report.id == found.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
        if found.status != ReportStatus.SUBMITTED:
            db.rollback()
            flash(f"Not saved: the report is now {found.status}.", "error")
            return redirect(url_for("console.review_report", reference=found.reference))
        changed = _apply(found, form)
        if changed:
            audit(
                db,
                current_user.record,
                "sanitise",
                "report",
                found.reference,
                reason="removing what could identify the caller",
                detail={"changed": changed},
            )
        db.commit()
        flash(
            f"Saved: {len(changed)} field{'s' if len(changed) != 1 else ''} changed."
            if changed
            else "Nothing was changed.",
            "info",
        )
        return redirect(url_for("console.review_report", reference=found.reference))
    # Shown (first, or again with what to correct): a view of the report.
    audit(db, current_user.record, "view", "report", found.reference, reason="sanitising")
    db.commit()
    findings = pii.find_in_report(found)
    return render_template(
        "console/review_sanitise.html",
        report=found,
        form=form,
        marked=by_field(findings),
        mark=highlight,
        kind_labels=KIND_LABELS,
        field_label=pii.field_words,
        approval_refusal=pii.approval_refusal(found),
    )


def _data_of(found: Report) -> dict[str, object]:
    data: dict[str, object] = {name: getattr(found, name) or "" for name in pii.REPORT_FIELDS}
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
