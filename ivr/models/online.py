"""What the online report and the follow-up route keep: a reporter's unsent answers
(encrypted, expiring), the shared rate buckets, and the messages that pass between
a force and an anonymous reporter after the report is made."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, utcnow
from ivr.models.enums import Channel, DisseminationState, MessageKind, MessageStatus, code_column
from ivr.models.types import UTCDateTime


class OnlineDraft(Base):
    """Answers typed so far, found by the SHA-256 of a random token in the reporter's
    cookie: never by anything about the reporter. The answers are encrypted with the
    contact cipher and the row is deleted on submission or when it expires."""

    __tablename__ = "online_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    answers_enc: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class RateBucket(Base):
    """A token bucket shared by every app server (one row per purpose, e.g. all online
    submissions together): limits without keeping anyone's IP address."""

    __tablename__ = "rate_buckets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportMessage(Base):
    """One message after the report: a force's question (from a supervisor), the
    reporter's answer to it, or more information the reporter added.

    The reporter's words go through the same PII review as a report before they
    leave (status "submitted" -> "approved" -> delivered as an update)."""

    __tablename__ = "report_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    kind: Mapped[MessageKind] = mapped_column(code_column(MessageKind, "kind", 16))
    # The question an answer answers.
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("report_messages.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    # A question: the force that asked it, which its answer goes to.
    force_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[MessageStatus] = mapped_column(code_column(MessageStatus, "status", 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_report_messages_report", "report_id", "id"),)


class UpdateDelivery(Base):
    """The outbox for follow-up messages: one row per approved message per force, sent
    by the same delivery worker, signed the same way, with its own idempotency key
    (ivr/records/update_delivery.py). Kept apart from `disseminations`, which holds
    exactly one row per report per force (routing, redirection, force outcomes)."""

    __tablename__ = "update_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("report_messages.id", ondelete="CASCADE"))
    force_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[Channel | None] = mapped_column(code_column(Channel, "channel", 16))
    destination: Mapped[str | None] = mapped_column(String(500))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[DisseminationState] = mapped_column(
        code_column(DisseminationState, "state", 16), default=DisseminationState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("message_id", "force_id"),
        Index("ix_update_deliveries_due", "state", "next_attempt_at"),
    )
