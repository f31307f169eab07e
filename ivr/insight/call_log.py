"""The call log: every call, newest first, filtered, a page at a time; and one call's timeline.

Pages are keyset-paginated on (started_at, id): the next (older) page starts
strictly after the last row shown, so page 1,000 costs what page 1 costs, and
calls arriving meanwhile do not shift rows between pages. Each filter column
the log is most often narrowed by has an index led by it and ending in
(started_at, id) (migration 0004), so a filtered page is an index walk too.

Nothing here reads a call's contact number or its answers blob: the log shows
the answers that have columns of their own (force, role, category, urgency,
anonymity) and how the call went.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, exists, select, tuple_
from sqlalchemy.orm import Session, aliased

from ivr.models import Call, CallEvent, CallOutcome, CallStatus, Report

PAGE_SIZE = 50
_MICROSECOND = timedelta(microseconds=1)

# How a call went, as the log's outcome filter offers it.
OUTCOMES = {
    "abandoned": "Hung up in the call flow",
    "queued_and_left": "Queued, then left",
    "answered": "Answered by a handler",
    "report": "A report was made",
    "in_progress": "Not ended yet",
    "failed": "Failed",
    "turned_away": "Told at once: closed, or nobody free",
}


@dataclass(frozen=True)
class CallFilters:
    """What the log is narrowed to; None means any. `until` is exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    line: str | None = None
    language: str | None = None
    force: str | None = None
    role: str | None = None
    category: str | None = None
    anonymous: bool | None = None
    urgent: bool | None = None
    outcome: str | None = None  # a key of OUTCOMES
    abandoned_step: str | None = None  # with or without outcome="abandoned"
    include_tests: bool = False


@dataclass(frozen=True)
class CallRow:
    id: int
    started_at: datetime
    line: str
    language: str
    force: str | None
    role: str | None
    category: str | None
    urgent: bool
    anonymous: bool | None
    status: CallStatus
    outcome: CallOutcome | None
    abandoned_step: str | None
    queue_seconds: int | None
    duration_seconds: int | None
    is_test: bool
    report_id: int | None
    report_reference: str | None
    queued_at: datetime | None = None
    answered_at: datetime | None = None

    @property
    def waited_seconds(self) -> int | None:
        return waited_seconds(self.queued_at, self.answered_at, self.queue_seconds)


@dataclass(frozen=True)
class CallLogPage:
    rows: list[CallRow]
    older: str | None  # the cursor of the next, older page; None on the last page


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    step: str
    what: str  # chose, invalid, silence, heard, confirmed… or started/queued/answered/ended
    value: str | None = None


def waited_seconds(
    queued_at: datetime | None, answered_at: datetime | None, queue_seconds: int | None
) -> int | None:
    """Time in the queue: as kept (an ended call's, to the histogram's step: its times are
    then on the hour, ivr/voice/call_end.py), else for a call answered and not yet out
    of the queue, from queuing to the handler's answer by our own clock. (The kept wait
    of an answered call is by our clock too: Twilio's QueueTime for a call taken out of
    the queue by a redirect says 0 however long the caller waited, call_end.queue_wait.)"""
    if queue_seconds is not None:
        return queue_seconds
    if queued_at is not None and answered_at is not None:
        return max(0, int((answered_at - queued_at).total_seconds()))
    return None


class BadCursor(ValueError):
    """A page cursor that this module did not make."""


def encode_cursor(started_at: datetime, call_id: int) -> str:
    micros = (started_at - datetime(1970, 1, 1, tzinfo=UTC)) // _MICROSECOND
    return f"{micros}.{call_id}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    micros, _, call_id = cursor.partition(".")
    if not micros.lstrip("-").isdigit() or not call_id.isdigit():
        raise BadCursor(cursor)
    try:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + int(micros) * _MICROSECOND
    except OverflowError:
        raise BadCursor(cursor) from None
    return moment, int(call_id)


def filtered(stmt: Select, filters: CallFilters) -> Select:
    """Add the filters' conditions to a statement over Call."""
    if not filters.include_tests:
        stmt = stmt.where(Call.is_test.is_(False))
    if filters.since is not None:
        stmt = stmt.where(Call.started_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(Call.started_at < filters.until)
    for column, value in (
        (Call.line, filters.line),
        (Call.language, filters.language),
        (Call.force, filters.force),
        (Call.role, filters.role),
        (Call.category, filters.category),
    ):
        if value:
            stmt = stmt.where(column == value)
    if filters.anonymous is not None:
        stmt = stmt.where(Call.anonymous.is_(filters.anonymous))
    if filters.urgent is not None:
        stmt = stmt.where(Call.urgent.is_(filters.urgent))
    if filters.abandoned_step:
        step = filters.abandoned_step
        stmt = stmt.where(Call.outcome == CallOutcome.ABANDONED, Call.abandoned_step == step)
    outcome = filters.outcome
    if outcome == "abandoned":
        stmt = stmt.where(Call.outcome == CallOutcome.ABANDONED)
    elif outcome == "queued_and_left":
        stmt = stmt.where(Call.outcome.in_((CallOutcome.LEFT_QUEUE, CallOutcome.LEFT_FOR_ONLINE)))
    elif outcome == "answered":
        stmt = stmt.where(Call.outcome == CallOutcome.ANSWERED)
    elif outcome == "failed":
        stmt = stmt.where(Call.outcome == CallOutcome.FAILED)
    elif outcome == "turned_away":
        stmt = stmt.where(Call.outcome.in_((CallOutcome.CLOSED, CallOutcome.NO_HANDLER)))
    elif outcome == "in_progress":
        stmt = stmt.where(Call.status != CallStatus.ENDED)
    elif outcome == "report":
        made = aliased(Report)
        stmt = stmt.where(exists().where(made.call_id == Call.id))
    elif outcome:
        raise ValueError(f"unknown outcome filter {outcome!r}")
    return stmt


def call_log(
    session: Session,
    filters: CallFilters | None = None,
    older_than: str | None = None,
    page_size: int | None = None,
) -> CallLogPage:
    """One page of the log, newest first; `older_than` is a cursor from a previous page."""
    filters = filters or CallFilters()
    page_size = page_size or PAGE_SIZE
    stmt: Select = select(
        Call.id,
        Call.started_at,
        Call.line,
        Call.language,
        Call.force,
        Call.role,
        Call.category,
        Call.urgent,
        Call.anonymous,
        Call.status,
        Call.outcome,
        Call.abandoned_step,
        Call.queue_seconds,
        Call.duration_seconds,
        Call.is_test,
        Report.id,
        Report.reference,
        Call.queued_at,
        Call.answered_at,
    )
    if filters.outcome == "report":
        # An inner join: the database may walk the (few) reports instead of the calls.
        stmt = stmt.join(Report, Report.call_id == Call.id)
        stmt = filtered(stmt, replace(filters, outcome=None))
    else:
        stmt = stmt.outerjoin(Report, Report.call_id == Call.id)
        stmt = filtered(stmt, filters)
    if older_than:
        started_at, call_id = decode_cursor(older_than)
        stmt = stmt.where(tuple_(Call.started_at, Call.id) < tuple_(started_at, call_id))
    stmt = stmt.order_by(Call.started_at.desc(), Call.id.desc()).limit(page_size + 1)
    rows = [CallRow(*row) for row in session.execute(stmt)]
    older = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        older = encode_cursor(rows[-1].started_at, rows[-1].id)
    return CallLogPage(rows, older)


def timeline(session: Session, call_id: int) -> list[TimelineEntry] | None:
    """A call's steps in order: when it started, each answer, when it queued,
    was answered and ended. None when there is no such call."""
    call = session.get(Call, call_id)
    if call is None:
        return None
    # In the order things happened to the caller, not by timestamp: the last answer
    # and the queuing are written in one request, microseconds apart either way.
    entries = [TimelineEntry(call.started_at, "", "started")]
    events = list(
        session.scalars(
            select(CallEvent).where(CallEvent.call_id == call_id).order_by(CallEvent.seq)
        )
    )
    queue_step = "queue"
    entries += [
        TimelineEntry(e.at, e.step, e.outcome, e.value) for e in events if e.step != queue_step
    ]
    if call.queued_at is not None:
        entries.append(TimelineEntry(call.queued_at, queue_step, "queued"))
    entries += [
        TimelineEntry(e.at, e.step, e.outcome, e.value) for e in events if e.step == queue_step
    ]
    if call.answered_at is not None:
        entries.append(TimelineEntry(call.answered_at, queue_step, "answered"))
    if call.ended_at is not None:
        # An answered call's end is "ended", not a second "answered".
        how = "ended" if call.outcome in (None, CallOutcome.ANSWERED) else call.outcome
        step = call.abandoned_step if call.outcome == CallOutcome.ABANDONED else call.step
        entries.append(TimelineEntry(call.ended_at, step or call.step, how))
    return entries
