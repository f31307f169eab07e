"""Keeping in contact after a report: a force's questions to the reporter, the
reporter's answers, and more information they add.

- A supervisor enters a force's question (`ask`); the reporter reads it online, or
  hears that a question waits when they ring.
- What the reporter writes (`from_reporter`) is "submitted": it goes through the same
  PII review as a report (ivr/records/pii.py: approval is refused while an anonymous
  reporter's text holds a phone number or e-mail address), and on approval
  (`approve`) is queued as an update, in the same transaction, for the delivery
  worker (ivr/records/update_delivery.py): an answer to the force that asked, more
  information to every force the report went to.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core import followup
from ivr.core.audit import audit
from ivr.core.permissions import Action, may
from ivr.models import Dissemination, Report, ReportMessage, UpdateDelivery, User, utcnow
from ivr.models.enums import MessageStatus
from ivr.records import pii

MAX_TEXT = 10_000
SENT_STATUSES = ("approved", "disseminated")


class MessageRefused(Exception):
    """The action is refused; the message says why, in words for the person."""


def messages(session: Session, report: Report) -> list[ReportMessage]:
    stmt = select(ReportMessage).where(ReportMessage.report_id == report.id)
    return list(session.scalars(stmt.order_by(ReportMessage.id)))


def open_questions(session: Session, report_id: int) -> int:
    """How many questions wait for the reporter (the phone line says so)."""
    return followup.open_questions(session, report_id)


def forces_of(session: Session, report: Report) -> list[str]:
    """The forces the report went to (not redirected away)."""
    stmt = select(Dissemination.force_id).where(
        Dissemination.report_id == report.id, Dissemination.state != "redirected"
    )
    return list(dict.fromkeys(session.scalars(stmt.order_by(Dissemination.id))))


def ask(
    session: Session, report: Report, supervisor: User, text: str, force_id: str
) -> ReportMessage:
    """A force's question for the reporter. The caller commits."""
    _require_reviewer(supervisor)
    text = (text or "").strip()
    if not text:
        raise MessageRefused("Type the force's question.")
    if report.status not in SENT_STATUSES:
        raise MessageRefused("Only a report that has been approved and sent can have questions.")
    if force_id not in forces_of(session, report):
        raise MessageRefused("Choose one of the forces this report went to.")
    question = ReportMessage(
        report_id=report.id,
        kind="question",
        text=text[:MAX_TEXT],
        status=MessageStatus.OPEN,
        force_id=force_id,
        created_by_id=supervisor.id,
    )
    session.add(question)
    session.flush()
    audit(session, supervisor, "ask", "report", report.reference, detail={"message": question.id})
    return question


def from_reporter(
    session: Session, report: Report, text: str, reply_to: ReportMessage | None, route: str
) -> ReportMessage:
    """The reporter's answer to a question (reply_to) or more information. The caller
    commits."""
    text = (text or "").strip()
    if not text:
        raise MessageRefused("empty")
    if reply_to is not None and (reply_to.report_id != report.id or reply_to.kind != "question"):
        raise MessageRefused("not this report's question")
    message = ReportMessage(
        report_id=report.id,
        kind="answer" if reply_to is not None else "addition",
        reply_to_id=reply_to.id if reply_to is not None else None,
        text=text[:MAX_TEXT],
        status=MessageStatus.SUBMITTED,
    )
    session.add(message)
    if reply_to is not None:
        reply_to.status = MessageStatus.ANSWERED
    session.flush()
    audit(
        session,
        None,
        "add message",
        "report",
        report.reference,
        reason=route,
        detail={"message": message.id, "kind": message.kind},
    )
    return message


def awaiting_review(session: Session) -> list[ReportMessage]:
    stmt = select(ReportMessage).where(ReportMessage.status == MessageStatus.SUBMITTED)
    return list(session.scalars(stmt.order_by(ReportMessage.id)))


def findings(message: ReportMessage) -> list[pii.Finding]:
    return pii.find_in_text(message.text, "text")


def approve(
    session: Session,
    message: ReportMessage,
    supervisor: User,
    text: str | None = None,
    now: datetime | None = None,
) -> list[UpdateDelivery]:
    """Approve what the reporter wrote (as edited by the supervisor, if `text` is given)
    and queue it for the forces. The caller commits."""
    _require_reviewer(supervisor)
    now = now or utcnow()
    if message.status != MessageStatus.SUBMITTED or message.kind == "question":
        raise MessageRefused("Only a reporter's submitted message can be approved.")
    report = session.get_one(Report, message.report_id)
    if text is not None and text.strip() and text.strip() != message.text:
        message.text = text.strip()[:MAX_TEXT]
        audit(session, supervisor, "edit message", "report", report.reference,
              detail={"message": message.id})  # fmt: skip
    if report.anonymous and any(f.blocks_anonymous_approval for f in findings(message)):
        raise MessageRefused(
            "This message still contains a phone number or e-mail address that could "
            "identify an anonymous reporter: remove it before approving."
        )
    if report.status not in SENT_STATUSES:
        raise MessageRefused(
            "The report itself has not been sent yet: add this to the report instead."
        )
    if message.kind == "answer":
        question = session.get_one(ReportMessage, message.reply_to_id)
        forces = [question.force_id] if question.force_id else forces_of(session, report)
    else:
        forces = forces_of(session, report)
    outbox = [
        UpdateDelivery(
            message_id=message.id,
            force_id=force_id,
            idempotency_key=str(uuid.uuid4()),
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for force_id in forces
    ]
    session.add_all(outbox)
    message.status = MessageStatus.APPROVED
    message.reviewed_by_id = supervisor.id
    message.reviewed_at = now
    audit(
        session,
        supervisor,
        "approve message",
        "report",
        report.reference,
        detail={"message": message.id, "to": forces},
        at=now,
    )
    return outbox


def _require_reviewer(user: User) -> None:
    if not may(user.role, Action.REVIEW_REPORTS):
        raise MessageRefused("Only a supervisor can do this.")
