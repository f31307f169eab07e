"""The outbox: one row per report per destination, written with the approval."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, utcnow
from ivr.models.enums import Channel, DisseminationState, ForceOutcome, code_column
from ivr.models.types import UTCDateTime


class Dissemination(Base):
    __tablename__ = "disseminations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    force_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[Channel] = mapped_column(code_column(Channel, "channel", 16))
    destination: Mapped[str] = mapped_column(String(500))
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
    redirect_reason: Mapped[str | None] = mapped_column(Text)
    # What the force told us it did with the intelligence (ivr/records/force_outcomes.py):
    # the announcement's "investigations" and "passed to other forces".
    force_outcome: Mapped[ForceOutcome | None] = mapped_column(
        code_column(ForceOutcome, "force_outcome", 32)
    )
    force_outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # For "passed_to_other_force": which force it was passed to (migration 0008).
    force_outcome_to: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("report_id", "force_id"),
        Index("ix_disseminations_due", "state", "next_attempt_at"),
        Index("ix_disseminations_delivered", "delivered_at"),
    )
