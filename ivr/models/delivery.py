"""The outbox: one row per report per destination, written with the approval."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, utcnow


class Dissemination(Base):
    __tablename__ = "disseminations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    force_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))  # https | email
    destination: Mapped[str] = mapped_column(String(500))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    first_failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    redirect_reason: Mapped[str | None] = mapped_column(Text)
    # What the force told us it did with the intelligence (ivr/records/force_outcomes.py):
    # the announcement's "investigations" and "passed to other forces".
    force_outcome: Mapped[str | None] = mapped_column(String(32))
    force_outcome_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # For "passed_to_other_force": which force it was passed to (migration 0006).
    force_outcome_to: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("report_id", "force_id"),
        Index("ix_disseminations_due", "state", "next_attempt_at"),
        Index("ix_disseminations_delivered", "delivered_at"),
    )
