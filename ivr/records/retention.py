"""Retention (DPA 2018 s.39): erase what is no longer needed, after the periods in the settings.

- A call that made no report: after `retention_call_days` from its start, its
  step events are deleted and its row keeps only what the figures count (line,
  language, force, role, category, urgency, anonymity, outcome, the step where
  it ended, times and durations). Its answers, its key (an HMAC of Twilio's
  CallSid, which could be matched against Twilio's logs), any contact number and
  request tokens are erased.
- A report's contact details: after `retention_contact_days` from the report's
  last change (for a disseminated report, the last force's acknowledgement),
  Report.contact_enc and the origin call's contact number are erased and
  contact_erased_at is set.
- An online report's unsent answers (online_drafts): once expired (24 hours after
  their last save; ivr/records/online_report.py), whether or not anyone saves again.

Each erasure is audited by record id and what kind of data went, never the data.
On SQLite the freed pages are overwritten (secure_delete) and the write-ahead
log is checkpointed, so the erased bytes do not linger in the files either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, cast, delete, exists, func, select, update
from sqlalchemy.orm import Session

from ivr.core.audit import audit
from ivr.insight.roll_up import roll_up_settled
from ivr.models import Call, CallEvent, OnlineDraft, Report, utcnow

BATCH = 1000
REASON = "retention period ended (DPA 2018 s.39)"


@dataclass
class Purged:
    calls: int = 0
    events: int = 0
    contacts: int = 0
    drafts: int = 0
    call_ids: list[int] = field(default_factory=list)
    report_ids: list[int] = field(default_factory=list)


def purge(
    session: Session,
    call_days: int,
    contact_days: int,
    now: datetime | None = None,
    dry_run: bool = False,
) -> Purged:
    """Erase what has outlived its retention period; commit per batch. Returns the counts.

    A dry run walks the very batches the real run would erase and counts their
    calls and step events, erasing nothing: its counts are the real run's."""
    now = now or utcnow()
    purged = Purged()
    call_cutoff = now - timedelta(days=call_days)
    contact_cutoff = now - timedelta(days=contact_days)
    if not dry_run:
        # Count the funnel of every settled day before its step events go (ivr/insight/roll_up.py).
        roll_up_settled(session, now)
    after_id = 0
    while ids := _expired_calls(session, call_cutoff, after_id):
        if dry_run:
            purged.events += _count_events(session, ids)
        else:
            purged.events += _erase_calls(session, ids, call_days, now)
            session.commit()
        purged.calls += len(ids)
        purged.call_ids += ids
        after_id = ids[-1]

    reports = list(
        session.scalars(
            select(Report)
            .where(Report.contact_enc.is_not(None), Report.updated_at < contact_cutoff)
            .order_by(Report.id)
        )
    )
    for report in reports:
        purged.contacts += 1
        purged.report_ids.append(report.id)
        if dry_run:
            continue
        report.contact_enc = None
        report.contact_erased_at = now
        if report.call_id is not None:
            session.execute(
                update(Call).where(Call.id == report.call_id).values(contact_number_enc=None)
            )
        audit(
            session,
            None,
            "erase",
            "report",
            report.reference,
            reason=REASON,
            detail={"erased": ["contact details"], "retention_days": contact_days},
            at=now,
        )
    expired = session.scalars(select(OnlineDraft.id).where(OnlineDraft.expires_at <= now))
    purged.drafts = len(list(expired))
    if not dry_run:
        session.execute(delete(OnlineDraft).where(OnlineDraft.expires_at <= now))
    session.commit()
    engine = session.get_bind()
    if not dry_run and engine.dialect.name == "sqlite":
        # Move the write-ahead log (which still holds the old pages) into the database
        # file, where secure_delete has zeroed the freed space, and empty it.
        with engine.connect() as conn:  # type: ignore[union-attr]  # bound to an Engine
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return purged


def _expired_calls(session: Session, cutoff: datetime, after_id: int) -> list[int]:
    """The next batch (by id) of calls past their period that made no report and
    still have their details."""
    return list(
        session.scalars(
            select(Call.id)
            .where(
                Call.id > after_id,
                Call.started_at < cutoff,
                Call.details_erased_at.is_(None),
                ~exists().where(Report.call_id == Call.id),
            )
            .order_by(Call.id)
            .limit(BATCH)
        )
    )


def _count_events(session: Session, ids: list[int]) -> int:
    count = select(func.count()).select_from(CallEvent).where(CallEvent.call_id.in_(ids))
    return int(session.scalar(count) or 0)


def _erase_calls(session: Session, ids: list[int], call_days: int, now: datetime) -> int:
    events = session.execute(delete(CallEvent).where(CallEvent.call_id.in_(ids))).rowcount  # type: ignore[attr-defined]  # an UPDATE/DELETE's result is a CursorResult
    session.execute(
        update(Call)
        .where(Call.id.in_(ids))
        .values(
            call_key="erased-" + cast(Call.id, String),
            live_call_sid=None,
            answers={},
            preface=[],
            contact_number_enc=None,
            last_request_key=None,
            last_idempotency_token=None,
            details_erased_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    audit(
        session,
        None,
        "erase",
        "call",
        None,
        reason=REASON,
        detail={
            "erased": ["step events", "answers", "call key", "contact number", "request tokens"],
            "call_ids": ids,
            "events": events,
            "retention_days": call_days,
        },
        at=now,
    )
    return events
