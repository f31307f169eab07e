"""Where an approved report has gone: its deliveries for the review page, the form to
send it to another force, and the supervisors' alert when a delivery keeps failing.

The sending itself is the delivery worker's (ivr/records/delivery.py); redirection is
ivr.records.review.redirect. Nothing here touches the network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Blueprint
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length

from handler_console.access import current_user_may
from handler_console.choices import choices
from ivr.core.db import get_session
from ivr.core.forces import ForceCatalogue
from ivr.core.permissions import Action
from ivr.core.runtime import get_core
from ivr.models import Dissemination, DisseminationState, Report, utcnow
from ivr.records.delivery_state import deliveries_of, failing_deliveries, state_label

CHANNELS = {"https": "Signed JSON (HTTPS)", "email": "E-mail"}
# Alerts named one by one on every supervisor page; the rest are counted.
ALERT_SHOWN = 5


@dataclass(frozen=True)
class DeliveryRow:
    """One delivery as the review page shows it."""

    id: int
    force_name: str
    channel: str
    state: str  # pending | failing | alert | delivered | redirected
    attempts: int
    delivered_at: datetime | None
    first_failed_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None
    redirect_reason: str | None
    force_outcome: str | None = None
    force_outcome_at: datetime | None = None
    force_outcome_to: str | None = None

    @property
    def active(self) -> bool:
        return self.state != DisseminationState.REDIRECTED


def delivery_rows(session: Session, report: Report) -> list[DeliveryRow]:
    runtime = get_core()
    now = utcnow()
    alert_after = timedelta(seconds=runtime.settings.delivery_alert_after_seconds)
    return [
        DeliveryRow(
            id=d.id,
            force_name=runtime.forces.name(d.force_id),
            channel=CHANNELS.get(d.channel, d.channel),
            state=state_label(d, now=now, alert_after=alert_after),
            attempts=d.attempts,
            delivered_at=d.delivered_at,
            first_failed_at=d.first_failed_at,
            next_attempt_at=d.next_attempt_at,
            last_error=d.last_error,
            redirect_reason=d.redirect_reason,
            force_outcome=d.force_outcome,
            force_outcome_at=d.force_outcome_at,
            force_outcome_to=d.force_outcome_to,
        )
        for d in deliveries_of(session, report)
    ]


class RedirectForm(FlaskForm):
    delivery = SelectField("Delivery to redirect", validate_choice=False)
    force = SelectField("Send it instead to", validate_choice=False)
    reason = TextAreaField(
        "Reason (kept in the audit trail)",
        validators=[Length(max=2000, message="Keep the reason under 2,000 characters.")],
    )


class OutcomeForm(FlaskForm):
    """What the force said it did with one delivery (from its Professional Standards
    Department's reply)."""

    delivery = SelectField("Delivery", validate_choice=False)
    outcome = SelectField("What the force did", validate_choice=False)
    passed_to = SelectField("Passed to which force", validate_choice=False)
    note = TextAreaField(
        "Note (e.g. the force's letter and its date; kept in the audit trail)",
        validators=[Length(max=2000, message="Keep the note under 2,000 characters.")],
    )


OUTCOME_CHOICES = [
    ("not_known", "Not yet known"),
    ("investigation", "Investigation opened"),
    ("passed_to_other_force", "Passed to another force"),
    ("no_further_action", "No further action"),
]


def outcome_form(
    row: DeliveryRow, forces: ForceCatalogue, form: OutcomeForm | None = None
) -> OutcomeForm:
    form = form or OutcomeForm(
        formdata=None,
        delivery=str(row.id),
        outcome=row.force_outcome or "not_known",
        passed_to=row.force_outcome_to or "",
    )
    form.delivery.choices = choices([(str(row.id), row.force_name)])
    form.outcome.choices = choices(OUTCOME_CHOICES)
    form.passed_to.choices = choices(
        [("", "Choose a force")]
        + sorted(((f.id, f.name) for f in forces.forces.values()), key=lambda pair: pair[1])
    )
    for name in ("delivery", "outcome", "passed_to", "note"):
        # One form per delivery on the page: ids (and their labels) must differ.
        form[name].id = f"{name}-{row.id}"
        form[name].label.field_id = form[name].id
    return form


def redirect_form(
    rows: list[DeliveryRow], forces: ForceCatalogue, form: RedirectForm | None = None
) -> RedirectForm:
    form = form or RedirectForm()
    form.delivery.choices = choices(
        (str(row.id), f"{row.force_name} ({row.state})") for row in rows if row.active
    )
    form.force.choices = choices(
        [("", "Choose a force")]
        + sorted(((f.id, f.name) for f in forces.forces.values()), key=lambda pair: pair[1])
    )
    return form


@dataclass(frozen=True)
class LateDelivery:
    reference: str
    urgent: bool
    force_name: str
    since: datetime
    last_error: str | None


def late_deliveries() -> tuple[list[LateDelivery], int]:
    """Deliveries failing for longer than the alert setting (urgent reports first):
    the first few, and how many in all."""
    runtime = get_core()
    session = get_session()
    alert_after = timedelta(seconds=runtime.settings.delivery_alert_after_seconds)
    failing = failing_deliveries(session, older_than=alert_after)
    if not failing:
        return [], 0
    reports = {
        r.id: r
        for r in session.scalars(
            select(Report).where(Report.id.in_({d.report_id for d in failing}))
        )
    }
    late = [
        LateDelivery(
            reference=reports[d.report_id].reference,
            urgent=bool(reports[d.report_id].urgent),
            force_name=runtime.forces.name(d.force_id),
            since=d.first_failed_at or utcnow(),
            last_error=d.last_error,
        )
        for d in failing
    ]
    late.sort(key=lambda item: not item.urgent)  # stable: oldest failure first within each
    return late[:ALERT_SHOWN], len(late)


def _alert_for_supervisors() -> dict[str, Callable[[], tuple[list[LateDelivery], int]]]:
    """base.html calls `delivery_alert()` only when it draws a page, and only for a
    supervisor: no query for fragments, other roles or pages that do not extend it."""

    def delivery_alert() -> tuple[list[LateDelivery], int]:
        if not current_user_may(Action.REVIEW_REPORTS):
            return [], 0
        return late_deliveries()

    return {"delivery_alert": delivery_alert}


def register(bp: Blueprint) -> None:
    bp.context_processor(_alert_for_supervisors)


def find_delivery(session: Session, report: Report, delivery_id: str) -> Dissemination | None:
    if not delivery_id.isdigit():
        return None
    found = session.get(Dissemination, int(delivery_id))
    return found if found is not None and found.report_id == report.id else None
