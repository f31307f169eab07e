"""Staff accounts and the audit trail (DPA 2018 s.62: who, when, what, why)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base, utcnow
from ivr.models.enums import Availability, StaffRole, code_column
from ivr.models.types import UTCDateTime


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[StaffRole] = mapped_column(code_column(StaffRole, "role", 16))
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped by a password change: sessions carrying an older value end.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # available | busy (on a call: set by taking one) | away; ivr/core/availability.py.
    # `availability_at` is the handler's last sign of life in the console: a handler
    # idle for longer than a console session lasts counts as away.
    availability: Mapped[Availability] = mapped_column(
        code_column(Availability, "availability", 16), default=Availability.AWAY
    )
    availability_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-factor sign-in (ivr/staff/two_factor.py): the TOTP secret, encrypted under the
    # contact key; set at enrolment's start, confirmed (two_factor_at) by a first good code.
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    two_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last 30-second step whose code was accepted: a code is good once only.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    # Set when an admin gives the password (migration 0008): the console asks the user
    # to choose their own before anything else.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class RecoveryCode(Base):
    """A single-use code for the second step when the authenticator is lost: the
    first group is its name in clear (to find the row), the rest an argon2id hash."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lookup: Mapped[str] = mapped_column(String(8))
    code_hash: Mapped[str] = mapped_column(String(255))


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(
        String(32)
    )  # view, create, update, submit, disclose, erase…
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_audit_record", "record_type", "record_id"),
        Index("ix_audit_user_at", "user_id", "at"),
        # The audit log page, newest first, whole or by action (migration 0004).
        Index("ix_audit_at", "at", "id"),
        Index("ix_audit_action_at", "action", "at", "id"),
    )
