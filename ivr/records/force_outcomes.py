"""What a force told the charity it did with a piece of intelligence it received.

The announcement counts "investigations" and reports "passed to other forces":
only the receiving force knows these, so when its Professional Standards
Department reports back, a supervisor records it on the delivery
(`Dissemination.force_outcome`), audited; the figures count them from there.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ivr.core.audit import audit
from ivr.core.permissions import Action, may
from ivr.models import Dissemination, DisseminationState, ForceOutcome, User, utcnow


class OutcomeRefused(Exception):
    """Not recorded; the message says why."""


def record_force_outcome(
    session: Session,
    dissemination: Dissemination,
    outcome: str,
    user: User,
    note: str | None = None,
    now: datetime | None = None,
) -> None:
    if not may(user.role, Action.RECORD_FORCE_OUTCOMES):
        raise OutcomeRefused("Only a supervisor records what a force did.")
    if outcome not in tuple(ForceOutcome):
        raise OutcomeRefused(f"Choose one of: {', '.join(ForceOutcome)}.")
    if dissemination.state != DisseminationState.DELIVERED:
        raise OutcomeRefused("The force has not acknowledged this report yet.")
    now = now or utcnow()
    previous = dissemination.force_outcome
    dissemination.force_outcome = ForceOutcome(outcome)
    dissemination.force_outcome_at = now
    audit(
        session,
        user,
        "force_outcome",
        "dissemination",
        dissemination.id,
        reason=note,
        detail={"outcome": outcome, "previous": previous, "force": dissemination.force_id},
        at=now,
    )
    session.commit()
