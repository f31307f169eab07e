"""The structured report record a handler types up from a call (or an online report)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ivr.models.base import Base, utcnow
from ivr.models.enums import HowKnown, ReportOrigin, ReportStatus, SubjectRole, code_column
from ivr.models.types import UTCDateTime


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    origin: Mapped[ReportOrigin] = mapped_column(
        code_column(ReportOrigin, "origin", 16), default=ReportOrigin.CALL
    )
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), unique=True)
    status: Mapped[ReportStatus] = mapped_column(
        code_column(ReportStatus, "status", 16), default=ReportStatus.DRAFT
    )
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Raised by every save of the report by staff (ivr/records/versions.py): a save
    # names the version it started from, so an older form never overwrites a newer one.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_comment: Mapped[str | None] = mapped_column(Text)

    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    what: Mapped[str] = mapped_column(Text, default="")
    when_text: Mapped[str] = mapped_column(String(200), default="")
    when_approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    where: Mapped[str] = mapped_column(Text, default="")
    how_known: Mapped[HowKnown | None] = mapped_column(code_column(HowKnown, "how_known", 16))
    risk_now: Mapped[bool | None] = mapped_column(Boolean)
    risk_who: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")

    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    # Contact details (name, phones, e-mail, safe times and ways) as encrypted JSON.
    contact_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    contact_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # Follow-up (ivr/core/followup.py): the reference as typed on a phone keypad, the
    # reporter's secret code as an argon2id hash only, and the lock against guessing.
    keypad_reference: Mapped[str | None] = mapped_column(String(16), unique=True)
    followup_code_hash: Mapped[str | None] = mapped_column(String(200))
    followup_failures: Mapped[int] = mapped_column(Integer, default=0)
    followup_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subjects: Mapped[list[ReportSubject]] = relationship(
        back_populates="report", order_by="ReportSubject.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_reports_status_urgent", "status", "urgent", "updated_at"),
        # A handler's "My reports", newest first.
        Index("ix_reports_created_by", "created_by_id", "updated_at"),
    )


class ReportSubject(Base):
    """A person the report is about."""

    __tablename__ = "report_subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    rank: Mapped[str] = mapped_column(String(100), default="")
    collar_number: Mapped[str] = mapped_column(String(50), default="")
    role: Mapped[SubjectRole] = mapped_column(
        code_column(SubjectRole, "role", 16), default=SubjectRole.UNKNOWN
    )
    force: Mapped[str] = mapped_column(String(64), default="unknown")
    station: Mapped[str] = mapped_column(String(200), default="")

    report: Mapped[Report] = relationship(back_populates="subjects")

    # Loading a report's subjects must not scan every subject ever recorded.
    __table_args__ = (Index("ix_report_subjects_report_id", "report_id", "position"),)
