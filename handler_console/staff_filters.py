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
from handler_console.clock import uk_day_bounds
from handler_console.words import ACTIONS, LANGUAGES, RECORD_TYPES, ROLES, step_name
from ivr.core.categories import load_categories
from ivr.core.runtime import get_core
from ivr.insight.audit_log import AuditFilters
from ivr.insight.call_log import OUTCOMES, CallFilters
from ivr.insight.period import Period
from ivr.models import SubjectRole
from ivr.voice.runtime import get_voice

ANY = ("", "Any")
ROLE_CHOICES = [
    (SubjectRole.OFFICER, ROLES["officer"]),
    (SubjectRole.STAFF, ROLES["staff"]),
    (SubjectRole.VOLUNTEER, ROLES["volunteer"]),
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
    return [(line, flow.name) for line, flow in get_voice().flows.flows.items()]


def language_choices() -> list[tuple[str, str]]:
    seen: list[str] = []
    for flow in get_voice().flows.flows.values():
        seen += [code for code in flow.languages if code not in seen]
    return [(code, LANGUAGES.get(code, code)) for code in seen]


def step_order() -> list[str]:
    """Every step of every line, in flow order, each once: the funnel's order."""
    order: list[str] = []
    for flow in get_voice().flows.flows.values():
        order += [step for step in flow.steps if step not in order]
    return order


def step_label(step: str | None) -> str:
    return step_name(step)


class _DateRange(FlaskForm):
    class Meta:
        csrf = False

    since = DateField("From", validators=[Optional()])
    until = DateField("To (inclusive)", validators=[Optional()])

    def validate_since(self, field: DateField) -> None:
        _within_reason(field)

    def validate_until(self, field: DateField) -> None:
        _within_reason(field)
        if self.since.data and field.data and field.data < self.since.data:
            raise ValidationError("The end date is before the start date.")


# Dates a helpline's records can have; beyond them (9999-12-31) a day's end overflows.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


def _within_reason(field: DateField) -> None:
    if field.data and not EARLIEST <= field.data <= LATEST:
        raise ValidationError(f"Choose a date between {EARLIEST.year} and {LATEST.year}.")


class CallLogForm(_DateRange):
    line = SelectField("Line", validators=[Optional()])
    language = SelectField("Language", validators=[Optional()])
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
        self.language.choices = choices([ANY, *language_choices()])
        self.force.choices = choices([ANY, *force_choices()])
        self.role.choices = choices([ANY, *ROLE_CHOICES, (SubjectRole.UNKNOWN, "Not known")])
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
            language=self.language.data or None,
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

    def days(self, today: date) -> tuple[date, date]:
        """The chosen UK days, both included; by default the twelve months to today."""
        last = self.until.data or today
        first = self.since.data or (last - timedelta(days=364))
        return first, last

    def period(self, today: date) -> Period:
        """The chosen UK days as instants: midnight UK time to midnight UK time."""
        first, last = self.days(today)
        return Period(uk_day_bounds(first)[0], uk_day_bounds(last)[1])


class AuditLogForm(_DateRange):
    user = StringField("User", validators=[Optional(), Length(max=64)])
    action = SelectField("Action", validators=[Optional()])
    record_type = SelectField("Record", validators=[Optional()])
    record_id = StringField("Record id or reference", validators=[Optional(), Length(max=64)])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.action.choices = choices([ANY, *sorted(ACTIONS.items(), key=lambda p: p[1])])
        self.record_type.choices = choices([ANY, *RECORD_TYPES.items()])

    def filters(self) -> AuditFilters:
        since, until = _period(self.since.data, self.until.data)
        return AuditFilters(
            username=(self.user.data or "").strip() or None,
            action=self.action.data or None,
            record_type=self.record_type.data or None,
            record_id=(self.record_id.data or "").strip() or None,
            since=since,
            until=until,
        )


def _period(first: date | None, last: date | None) -> tuple:
    """UK days, both included: from the start of `first` to the end of `last`, UK time."""
    since = uk_day_bounds(first)[0] if first else None
    until = uk_day_bounds(last)[1] if last else None
    return since, until
