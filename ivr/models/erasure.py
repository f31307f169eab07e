"""The erasure outbox: Twilio's record of each ended call, waiting to be deleted.

Twilio keeps every call's From number in its call log until the account deletes
the call. One row per ended call asks the worker (ivr/voice/twilio_erasure.py) to
delete it; the CallSid is kept only encrypted (the contact cipher), and the row is
deleted the moment Twilio confirms, so nothing of the CallSid is left here (nor its
digest, kept beside it to know a repeated status callback).
No time of the call is kept: only when to try next.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.models.base import Base
from ivr.models.types import UTCDateTime


class TwilioErasure(Base):
    __tablename__ = "twilio_erasures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # The CallSid's keyed digest (ContactCipher.digest), kept exactly as long as the
    # encrypted CallSid: a repeated final status callback for an ended call is known by
    # it and counts nothing twice (ivr/voice/status_callback.py). Unique: the row's
    # INSERT is the atomic claim on the call's end (ivr/voice/twilio_erasure.py, `claim`).
    call_sid_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Why the last attempt failed, as Twilio's error code or the exception's name;
    # never the CallSid or a URL that holds it.
    last_error: Mapped[str | None] = mapped_column(String(120))

    __table_args__ = (Index("ix_twilio_erasures_due", "next_attempt_at"),)
