"""Reading the audit trail: every entry, newest first, filtered, a page at a time.

Keyset pagination on (at, id), like the call log (ivr/insight/call_log.py), with the
indexes of migration 0004 (whole log, by action) and those the trail already
had (by user, by record).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from ivr.insight.call_log import decode_cursor, encode_cursor
from ivr.models import AuditEntry, User

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilters:
    username: str | None = None  # "system" for what no user did (the worker, the purge)
    action: str | None = None
    record_type: str | None = None
    record_id: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    username: str | None
    action: str
    record_type: str
    record_id: str | None
    reason: str | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    older: str | None


def audit_log(
    session: Session,
    filters: AuditFilters | None = None,
    older_than: str | None = None,
    page_size: int | None = None,
) -> AuditPage:
    filters = filters or AuditFilters()
    page_size = page_size or PAGE_SIZE
    stmt = select(
        AuditEntry.id,
        AuditEntry.at,
        User.username,
        AuditEntry.action,
        AuditEntry.record_type,
        AuditEntry.record_id,
        AuditEntry.reason,
        AuditEntry.detail,
    ).outerjoin(User, User.id == AuditEntry.user_id)
    if filters.username == "system":
        stmt = stmt.where(AuditEntry.user_id.is_(None))
    elif filters.username:
        user_id = session.scalar(select(User.id).where(User.username == filters.username))
        stmt = stmt.where(AuditEntry.user_id == (user_id if user_id is not None else -1))
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.record_type:
        stmt = stmt.where(AuditEntry.record_type == filters.record_type)
    if filters.record_id:
        stmt = stmt.where(AuditEntry.record_id == filters.record_id)
    if filters.since is not None:
        stmt = stmt.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditEntry.at < filters.until)
    if older_than:
        at, entry_id = decode_cursor(older_than)
        stmt = stmt.where(tuple_(AuditEntry.at, AuditEntry.id) < tuple_(at, entry_id))
    stmt = stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(page_size + 1)
    rows = [AuditRow(*row[:7], row[7] or {}) for row in session.execute(stmt)]  # type: ignore[call-arg]  # a Row slices to its columns
    older = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        older = encode_cursor(rows[-1].at, rows[-1].id)
    return AuditPage(rows, older)
