"""The audit trail (DPA 2018 s.62): who did what to which record, when, and why.

An entry is added to the caller's session and committed with the change it
records, so there is never a change without its entry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ivr.models import AuditEntry, User


def audit(
    session: Session,
    user: User | None,
    action: str,
    record_type: str,
    record_id: int | str | None,
    *,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        user_id=user.id if user is not None else None,
        action=action,
        record_type=record_type,
        record_id=None if record_id is None else str(record_id),
        reason=reason,
        detail=detail or {},
    )
    session.add(entry)
    return entry
