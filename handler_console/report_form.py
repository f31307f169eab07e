"""The report form: what a handler types, mapped to and from the Report record.

Drafts accept anything typed (nothing is lost); the rules for submitting live in
ivr.records.record.submission_problems and come back here as field errors.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget

from handler_console.choices import choices
from ivr.core.categories import Category
from ivr.core.forces import ForceCatalogue
from ivr.models import Report, SubjectRole
from ivr.records.drafts import MAX_SUBJECTS, DraftEdit, SubjectEdit
from ivr.records.record import CONTACT_FIELDS, HOW_KNOWN

ROLE_LABELS = {
    SubjectRole.OFFICER: "Officer",
    SubjectRole.STAFF: "Staff",
    SubjectRole.VOLUNTEER: "Volunteer",
    SubjectRole.UNKNOWN: "Not known",
}
SUBJECT_FIELDS = ("name", "description", "rank", "collar_number", "station")


class SubjectForm(Form):
    name = StringField("Name")
    description = TextAreaField("Description, if the name is not known")
    rank = StringField("Rank or grade")
    collar_number = StringField("Collar or staff number")
    role = SelectField("Role", choices=choices(ROLE_LABELS.items()), validate_choice=False)
    force = SelectField("Force", validate_choice=False)
    station = StringField("Station or unit")


class ReportForm(FlaskForm):
    categories = SelectMultipleField(
        "Categories",
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )
    what = TextAreaField("What happened")
    when_text = StringField("When")
    when_approximate = BooleanField("Approximate")
    where = TextAreaField("Where")
    how_known = RadioField(
        "How the caller knows", choices=choices(HOW_KNOWN.items()), validate_choice=False
    )
    risk_now = RadioField(
        "Is anyone at risk now?",
        choices=choices([("yes", "Yes"), ("no", "No")]),
        validate_choice=False,
    )
    risk_who = TextAreaField("Who is at risk, and how")
    evidence = TextAreaField("Evidence the caller says exists")
    subjects = FieldList(FormField(SubjectForm), max_entries=MAX_SUBJECTS)
    contact_name = StringField("Name")
    contact_phone = StringField("Phone")
    contact_phone_other = StringField("Other phone")
    contact_email = StringField("E-mail")
    contact_safe_times = StringField("Safe times to contact")
    contact_safe_ways = StringField("Safe ways to contact (or to avoid)")


def build_form(
    forces: ForceCatalogue,
    categories: dict[str, Category],
    report: Report | None = None,
    contact: dict[str, str] | None = None,
) -> ReportForm:
    """From the request's form data when posted, else from the stored report."""
    data = _data_of(report, contact or {}) if report is not None else None
    form = ReportForm(data=data)
    form.categories.choices = choices((c.key, c.label) for c in categories.values())
    force_choices = choices(
        [("unknown", "Not known")]
        + sorted(((f.id, f.name) for f in forces.forces.values()), key=lambda pair: pair[1])
    )
    for entry in form.subjects:
        entry.form.force.choices = force_choices
    return form


def _data_of(report: Report, contact: dict[str, str]) -> dict[str, Any]:
    risk = {True: "yes", False: "no"}.get(report.risk_now)  # type: ignore[arg-type]
    data: dict[str, Any] = {
        "categories": list(report.categories or []),
        "what": report.what,
        "when_text": report.when_text,
        "when_approximate": report.when_approximate,
        "where": report.where,
        "how_known": report.how_known,
        "risk_now": risk,
        "risk_who": report.risk_who,
        "evidence": report.evidence,
        "subjects": [
            {
                "name": s.name,
                "description": s.description,
                "rank": s.rank,
                "collar_number": s.collar_number,
                "role": s.role,
                "force": s.force,
                "station": s.station,
            }
            for s in report.subjects
        ],
    }
    for key, value in contact.items():
        data[f"contact_{key}"] = value
    return data


def edit_of(form: ReportForm) -> DraftEdit:
    """What the handler typed, as the records service takes it (it clips and checks)."""
    return DraftEdit(
        categories=[c for c in (form.categories.data or []) if isinstance(c, str)],
        what=form.what.data or "",
        when_text=form.when_text.data or "",
        when_approximate=bool(form.when_approximate.data),
        where=form.where.data or "",
        how_known=form.how_known.data or None,
        risk_now={"yes": True, "no": False}.get(form.risk_now.data or ""),
        risk_who=form.risk_who.data or "",
        evidence=form.evidence.data or "",
        subjects=[
            SubjectEdit(
                **{name: getattr(entry.form, name).data or "" for name in SUBJECT_FIELDS},
                role=entry.form.role.data or SubjectRole.UNKNOWN,
                force=entry.form.force.data or "unknown",
            )
            for entry in form.subjects
        ],
        contact={key: getattr(form, f"contact_{key}").data or "" for key in CONTACT_FIELDS},
    )


def show_problems(form: ReportForm, problems: dict[str, str]) -> None:
    """Put each problem next to its field (by the field's HTML name)."""
    by_name: dict[str, Any] = {}
    for field in form:
        by_name[field.name] = field
        if field.name == "subjects":
            for entry in field:
                for inner in entry.form:
                    by_name[inner.name] = inner
    for name, message in problems.items():
        field = by_name.get(name)
        if field is not None:
            field.errors = [*list(field.errors or []), message]
