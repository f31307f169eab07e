"""The report form: what a handler types, mapped to and from the Report record.

Drafts accept anything typed within the record's limits (ivr/records/limits.py,
checked by ivr.records.drafts, never cut); the rules for submitting live in
ivr.records.record.submission_problems; both come back here as field errors. The
form carries the report's version, so a save from an older page is a conflict.
One-line fields carry `maxlength` (a browser stops typing there); text areas do
not, because a browser cuts a longer paste at `maxlength` without a word: the
server's check says so instead.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
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
from ivr.records.drafts import DraftEdit, SubjectEdit
from ivr.records.limits import CONTACT_LIMIT, SUBJECT_LIMITS, TEXT_LIMITS
from ivr.records.record import CONTACT_FIELDS, HOW_KNOWN

ROLE_LABELS = {
    SubjectRole.OFFICER: "Officer",
    SubjectRole.STAFF: "Staff",
    SubjectRole.VOLUNTEER: "Volunteer",
    SubjectRole.UNKNOWN: "Not known",
}
SUBJECT_FIELDS = ("name", "description", "rank", "collar_number", "station")


def _line(label: str, limit: int) -> StringField:
    return StringField(label, render_kw={"maxlength": limit})


class SubjectForm(Form):
    name = _line("Name", SUBJECT_LIMITS["name"])
    description = TextAreaField("Description, if the name is not known")
    rank = _line("Rank or grade", SUBJECT_LIMITS["rank"])
    collar_number = _line("Collar or staff number", SUBJECT_LIMITS["collar_number"])
    role = SelectField("Role", choices=choices(ROLE_LABELS.items()), validate_choice=False)
    force = SelectField("Force", validate_choice=False)
    station = _line("Station or unit", SUBJECT_LIMITS["station"])


class ReportForm(FlaskForm):
    # The version the page was drawn from (ivr/records/versions.py).
    version = HiddenField()
    categories = SelectMultipleField(
        "Categories",
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,
    )
    what = TextAreaField("What happened")
    when_text = _line("When", TEXT_LIMITS["when_text"])
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
    # No max_entries: FieldList would drop the entries past it without a word; the
    # records service refuses more than MAX_SUBJECTS people, counting them all.
    subjects = FieldList(FormField(SubjectForm))
    contact_name = _line("Name", CONTACT_LIMIT)
    contact_phone = _line("Phone", CONTACT_LIMIT)
    contact_phone_other = _line("Other phone", CONTACT_LIMIT)
    contact_email = _line("E-mail", CONTACT_LIMIT)
    contact_safe_times = _line("Safe times to contact", CONTACT_LIMIT)
    contact_safe_ways = _line("Safe ways to contact (or to avoid)", CONTACT_LIMIT)


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
        "version": str(report.version),
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
