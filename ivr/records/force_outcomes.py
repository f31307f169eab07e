"""What a force told the charity it did with a piece of intelligence it received.

The announcement counts "investigations" and reports "passed to other forces":
only the receiving force knows these. When its Professional Standards
Department reports back, a supervisor records it on the delivery
(`Dissemination.force_outcome`, and for a report passed on, to which force), or
the force posts it itself to the signed reply endpoint (ivr/force_api/replies.py);
either way it is audited, and the figures count them from there. "Not yet
known" clears what was recorded.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from ivr.core.audit import audit
from ivr.core.forces import ForceCatalogue
from ivr.core.permissions import Action, may
from ivr.models import Dissemination, DisseminationState, ForceOutcome, User, utcnow

NOT_KNOWN = "not_known"
PASSED_ON = ForceOutcome.PASSED_TO_OTHER_FORCE


class OutcomeRefused(Exception):
    """Not recorded; the message says why."""


def record_force_outcome(
    session: Session,
    dissemination: Dissemination,
    outcome: str,
    user: User | None,
    note: str | None = None,
    now: datetime | None = None,
    passed_to: str | None = None,
    forces: ForceCatalogue | None = None,
    reported_by: str | None = None,
) -> None:
    """Record (and commit) what the force did. `user` is the supervisor who typed it,
    or None when the force posted it itself (then `reported_by` names the force)."""
    if user is not None and not may(user.role, Action.RECORD_FORCE_OUTCOMES):
        raise OutcomeRefused("Only a supervisor records what a force did.")
    if outcome not in tuple(ForceOutcome) and outcome != NOT_KNOWN:
        raise OutcomeRefused(f"Choose one of: {', '.join(ForceOutcome)}.")
    if dissemination.state != DisseminationState.DELIVERED:
        raise OutcomeRefused("The force has not acknowledged this report yet.")
    if outcome == PASSED_ON:
        if not passed_to:
            raise OutcomeRefused("Say which force it was passed to.")
        if forces is not None and passed_to not in forces.forces:
            raise OutcomeRefused(f"{passed_to!r} is not a force in the list.")
        if passed_to == dissemination.force_id:
            raise OutcomeRefused("A force cannot pass a report to itself.")
    else:
        passed_to = None
    now = now or utcnow()
    previous = dissemination.force_outcome
    dissemination.force_outcome = None if outcome == NOT_KNOWN else ForceOutcome(outcome)
    dissemination.force_outcome_at = now
    dissemination.force_outcome_to = passed_to
    detail: dict[str, object] = {
        "outcome": outcome,
        "previous": previous,
        "force": dissemination.force_id,
    }
    if passed_to:
        detail["passed_to"] = passed_to
    if reported_by:
        detail["reported_by"] = reported_by
    audit(
        session,
        user,
        "force_outcome",
        "dissemination",
        dissemination.id,
        reason=note,
        detail=detail,
        at=now,
    )
    session.commit()


# A force's reply, posted to /forces/outcome: signed with the force's own delivery
# secret over "<timestamp>.<body>", so that neither the body nor its time can be
# changed, and refused when old or replayed.
TIMESTAMP_HEADER = "X-Helpline-Timestamp"
SIGNATURE_HEADER = "X-Helpline-Signature"
REPLY_WINDOW_SECONDS = 300


def sign_reply(secret: str, timestamp: str, body: bytes) -> str:
    """What a force puts in X-Helpline-Signature (docs/console.md shows it in Python)."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def reply_time(
    secret: str, timestamp: str | None, body: bytes, signature: str | None, now: datetime
) -> datetime:
    """The moment a reply was signed, once its signature and freshness are checked;
    OutcomeRefused (with the reason a force's developer needs) otherwise."""
    if not timestamp or not timestamp.isdigit() or not signature:
        raise OutcomeRefused(f"Send {TIMESTAMP_HEADER} (Unix seconds) and {SIGNATURE_HEADER}.")
    if not hmac.compare_digest(sign_reply(secret, timestamp, body), signature.strip()):
        raise OutcomeRefused("The signature does not match.")
    signed_at = datetime.fromtimestamp(int(timestamp), tz=UTC)
    if abs((now - signed_at).total_seconds()) > REPLY_WINDOW_SECONDS:
        raise OutcomeRefused(f"The timestamp is more than {REPLY_WINDOW_SECONDS} s away from now.")
    return signed_at


def is_replay(dissemination: Dissemination, signed_at: datetime) -> bool:
    """A reply no newer than what is recorded (the same request again, or an older one)."""
    recorded = dissemination.force_outcome_at
    if recorded is None:
        return False
    if recorded.tzinfo is None:
        recorded = recorded.replace(tzinfo=UTC)
    return signed_at <= recorded
