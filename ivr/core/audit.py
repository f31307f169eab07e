"""Writing the audit trail (DPA 2018 s.62): who, when, what, to which record, why.

Entries are added to the caller's session, so they commit (or roll back) with
the change they describe. `detail` never holds erased or identifying data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ivr.models import AuditEntry, User, utcnow


def audit(
    session: Session,
    user: User | None,
    action: str,
    record_type: str,
    record_id: int | str | None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        at=at or utcnow(),
        user_id=user.id if user is not None else None,
        action=action,
        record_type=record_type,
        record_id=None if record_id is None else str(record_id),
        reason=reason,
        detail=detail or {},
    )
    session.add(entry)
    return entry
