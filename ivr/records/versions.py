"""A report's version: no save by staff overwrites a version it never saw.

Every page that can change a report (the handler's form and its autosave, the
supervisor's edit, the approve button) carries the version it was drawn from. Saving
is then one conditional UPDATE, `version = started + 1 WHERE version = started`, run
as the save's first write: two saves started from one version are served one after
the other by the database (the row lock on PostgreSQL, the write lock on SQLite), and
the second finds the version moved on and raises Conflict, having written nothing.
The page then shows what is stored beside what was typed, and nothing is lost.

Each save's audit entry carries the version it made (`detail["version"]`), so a
conflict can say who changed the report since, and which fields.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ivr.models import AuditEntry, Report

REPORTS = cast(Table, Report.__table__)
# The audit actions of saves that raise the version (they carry detail["version"]).
SAVE_ACTIONS = ("update", "submit", "sanitise", "approve", "return", "close")


class Conflict(Exception):
    """The report is no longer at the version the save started from; nothing was saved."""

    def __init__(self, reference: str, started_from: int | None) -> None:
        super().__init__(f"report {reference} changed after version {started_from}")
        self.reference = reference
        self.started_from = started_from


def parse_version(typed: object) -> int | None:
    """The version a form carried, or None (missing or garbled: a conflict)."""
    text = str(typed or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def claim(session: Session, report: Report, started_from: int | None) -> int:
    """Move the report from `started_from` to the next version, or roll back and raise
    Conflict. Call it before anything of the save is flushed."""
    if started_from is not None:
        # Nothing of the save is flushed first (a Core statement, and no autoflush): a
        # save that lost the race must not have written a row the winner changed.
        with session.no_autoflush:
            moved = session.execute(
                update(REPORTS)
                .where(REPORTS.c.id == report.id, REPORTS.c.version == started_from)
                .values(version=started_from + 1)
            )
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            set_committed_value(report, "version", started_from + 1)
            return started_from + 1
    session.rollback()
    raise Conflict(report.reference, started_from)


def bump(session: Session, report: Report) -> int:
    """Raise the version whatever it is now (a decision that needs no form, like a
    return to the handler): forms drawn before it no longer save."""
    with session.no_autoflush:
        session.execute(
            update(REPORTS).where(REPORTS.c.id == report.id).values(version=REPORTS.c.version + 1)
        )
        stored = session.scalar(select(REPORTS.c.version).where(REPORTS.c.id == report.id))
    set_committed_value(report, "version", stored)
    return int(stored or 0)


def changes_since(session: Session, report: Report, version: int | None) -> list[AuditEntry]:
    """The saves that made the versions after `version`, oldest first (who, when, which
    fields: the audit trail's own entries)."""
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.record_type == "report",
            AuditEntry.record_id == report.reference,
            AuditEntry.action.in_(SAVE_ACTIONS),
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    after = version or 0
    return [e for e in entries if int((e.detail or {}).get("version") or 0) > after]
