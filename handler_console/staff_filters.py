"""The GET forms of the supervisors' call log, figures and audit log pages.

They only narrow what is shown, change nothing, and are bookmarkable, so they
are read from the query string and carry no CSRF token. A value that is not
one of the choices, or a date that is not a date, is a form error on the page.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from handler_console.choices import choices
from ivr.core.categories import load_categories
from ivr.core.runtime import get_core
from ivr.insight.call_log import OUTCOMES, CallFilters
from ivr.insight.figures import Period
from ivr.models import SubjectRole
from ivr.voice.runtime import get_voice

ANY = ("", "Any")
ROLES = [
    (SubjectRole.OFFICER, "Officer or special"),
    (SubjectRole.STAFF, "Staff or PCSO"),
    (SubjectRole.VOLUNTEER, "Volunteer"),
]


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def force_choices() -> list[tuple[str, str]]:
    forces = get_core().forces.forces
    named = sorted(((f, get_core().forces.name(f)) for f in forces), key=lambda p: p[1])
    return [*named, ("unknown", "Not known")]


def category_choices() -> list[tuple[str, str]]:
    return _category_choices(get_core().settings.config_dir)


@lru_cache(maxsize=4)
def _category_choices(config_dir: Path) -> list[tuple[str, str]]:
    # Read once: the categories are configuration, fixed while the app runs.
    categories = load_categories(config_dir)
    return [*((key, c.label) for key, c in categories.items()), ("unknown", "Not known")]


def line_choices() -> list[tuple[str, str]]:
    return [(line, line) for line in get_voice().flows.flows]


def step_order() -> list[str]:
    """Every step of every line, in flow order, each once: the funnel's order."""
    order: list[str] = []
    for flow in get_voice().flows.flows.values():
        order += [step for step in flow.steps if step not in order]
    return order


def step_label(step: str | None) -> str:
    return (step or "—").replace("_", " ")


class _DateRange(FlaskForm):
    class Meta:
        csrf = False

    since = DateField("From", validators=[Optional()])
    until = DateField("To (inclusive)", validators=[Optional()])

    def validate_until(self, field: DateField) -> None:
        if self.since.data and field.data and field.data < self.since.data:
            raise ValidationError("The end date is before the start date.")


class CallLogForm(_DateRange):
    line = SelectField("Line", validators=[Optional()])
    force = SelectField("Force", validators=[Optional()])
    role = SelectField("Role", validators=[Optional()])
    category = SelectField("Category", validators=[Optional()])
    anonymous = SelectField("Anonymous", validators=[Optional()])
    urgent = SelectField("Urgent", validators=[Optional()])
    outcome = SelectField("Outcome", validators=[Optional()])
    abandoned_step = SelectField("Hung up at", validators=[Optional()])
    tests = BooleanField("Include test calls")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        yes_no = [ANY, ("yes", "Yes"), ("no", "No")]
        self.line.choices = choices([ANY, *line_choices()])
        self.force.choices = choices([ANY, *force_choices()])
        self.role.choices = choices([ANY, *ROLES, (SubjectRole.UNKNOWN, "Not known")])
        self.category.choices = choices([ANY, *category_choices()])
        self.anonymous.choices = choices(yes_no)
        self.urgent.choices = choices(yes_no)
        self.outcome.choices = choices([ANY, *OUTCOMES.items()])
        steps = [(s, step_label(s)) for s in step_order()]
        self.abandoned_step.choices = choices([ANY, *steps])

    def filters(self) -> CallFilters:
        period = _period(self.since.data, self.until.data)
        return CallFilters(
            since=period[0],
            until=period[1],
            line=self.line.data or None,
            force=self.force.data or None,
            role=self.role.data or None,
            category=self.category.data or None,
            anonymous=_yes_no(self.anonymous.data or ""),
            urgent=_yes_no(self.urgent.data or ""),
            outcome=self.outcome.data or None,
            abandoned_step=self.abandoned_step.data or None,
            include_tests=bool(self.tests.data),
        )


class FiguresForm(_DateRange):
    line = SelectField("Line", validators=[Optional()])
    force = SelectField("The announcement's figures for", validators=[Optional()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.line.choices = choices([("", "Every line"), *line_choices()])
        self.force.choices = choices([("", "Every force"), *force_choices()])

    def period(self, today: date) -> Period:
        """The chosen days; by default the twelve months to today."""
        last = self.until.data or today
        first = self.since.data or (last - timedelta(days=364))
        return Period.of_days(first, last)


class AuditLogForm(FlaskForm):
    class Meta:
        csrf = False

    user = StringField("User", validators=[Optional(), Length(max=64)])
    action = StringField("Action", validators=[Optional(), Length(max=32)])
    record_type = StringField("Record", validators=[Optional(), Length(max=32)])
    record_id = StringField("Record id", validators=[Optional(), Length(max=64)])


def _period(first: date | None, last: date | None) -> tuple:
    since = Period.of_days(first, first).start if first else None
    until = Period.of_days(last, last).end if last else None
    return since, until
