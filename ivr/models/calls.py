"""A call's state while it runs, and what happened at each step.

Nothing here identifies the caller: the call is keyed by an HMAC of Twilio's
CallSid (`call_key`); the CallSid itself is kept only while the call is live
(the console needs it to bring the caller out of the queue) and is erased when
the call ends. A contact number exists only when the caller chose to leave one,
and then only encrypted.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, utcnow
from ivr.models.enums import CallOutcome, CallStatus, code_column
from ivr.models.types import UTCDateTime

# Answers the console filters and counts on get a column of their own as well
# as their place in `answers`.
INDEXED_ANSWERS = ("force", "role", "category", "urgent", "anonymous")

# A call's id, and its step events', drawn at random, never in sequence: the phone
# company lists a line's calls in the order they came, to the second, so ids in that
# order would rank an ended call among those of its hour, and find its record as well
# as its exact start time would (docs/security.md, "Anonymity without gaps"). Below
# 2**53, so a browser's number holds one exactly. With ten million stored, a new id
# meets an old one about once in a billion: that webhook fails, and the caller is
# asked to hold while it is tried again (with a new id).
UNORDERED_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite's INTEGER is 64-bit
MAX_UNORDERED_ID = 2**53 - 1


def unordered_id() -> int:
    return secrets.randbelow(MAX_UNORDERED_ID) + 1


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(UNORDERED_ID, primary_key=True, default=unordered_id)
    call_key: Mapped[str] = mapped_column(String(64), unique=True)
    live_call_sid: Mapped[str | None] = mapped_column(String(64))
    line: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)

    # Where the caller is in the flow. `seq` counts state changes: every Gather
    # action carries it, so a retried request is recognised and changes nothing.
    step: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    preface: Mapped[list[str]] = mapped_column(JSON, default=list)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_request_key: Mapped[str | None] = mapped_column(String(200))
    last_idempotency_token: Mapped[str | None] = mapped_column(String(200))

    force: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(64))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous: Mapped[bool | None] = mapped_column(Boolean)
    contact_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    # in_flow -> queued -> answered; ended once Twilio says the call is over.
    status: Mapped[CallStatus] = mapped_column(
        code_column(CallStatus, "status", 16), default=CallStatus.IN_FLOW
    )
    outcome: Mapped[CallOutcome | None] = mapped_column(code_column(CallOutcome, "outcome", 32))
    abandoned_step: Mapped[str | None] = mapped_column(String(64))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    queue_seconds: Mapped[int | None] = mapped_column(Integer)
    # Set by `ivr purge` when a call that made no report has had its events and
    # answers erased; what stays is what the figures count.
    details_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", order_by="CallEvent.seq", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": seq}
    __table_args__ = (
        Index("ix_calls_queue", "status", "urgent", "queued_at"),
        Index("ix_calls_started", "started_at", "id"),
        # The call log's filters, each walked newest first (migration 0004).
        Index("ix_calls_force_started", "force", "started_at", "id"),
        Index("ix_calls_category_started", "category", "started_at", "id"),
        Index("ix_calls_outcome_started", "outcome", "started_at", "id"),
        # The few test calls, which the figures leave out (ivr/insight/figure_queries.py).
        Index(
            "ix_calls_test",
            "id",
            postgresql_where=text("is_test"),
            sqlite_where=text("is_test"),
        ),
    )

    def set_answer(self, name: str, value: Any) -> None:
        self.answers = {**(self.answers or {}), name: value}
        if name in INDEXED_ANSWERS:
            if name == "urgent":
                value = value is True
            setattr(self, name, value)


class CallEvent(Base):
    """One step's outcome: chose, invalid, silence, repeat, gave_up, heard, confirmed…"""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(UNORDERED_ID, primary_key=True, default=unordered_id)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    value: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    call: Mapped[Call] = relationship(back_populates="events")

    __table_args__ = (UniqueConstraint("call_id", "seq"),)
