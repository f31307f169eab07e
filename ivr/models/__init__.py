"""The records, one module each; importing this package registers them all."""

from ivr.models.base import Base, utcnow
from ivr.models.calls import Call, CallEvent
from ivr.models.delivery import Dissemination
from ivr.models.enums import (
    RELEASED,
    Availability,
    CallOutcome,
    CallStatus,
    Channel,
    DisseminationState,
    ForceOutcome,
    HowKnown,
    MessageKind,
    MessageStatus,
    ReportOrigin,
    ReportStatus,
    StaffRole,
    SubjectRole,
)
from ivr.models.erasure import TwilioErasure
from ivr.models.figures import CountedDay, FigureDay
from ivr.models.online import OnlineDraft, RateBucket, ReportMessage, UpdateDelivery
from ivr.models.reports import Report, ReportSubject
from ivr.models.staff import AuditEntry, RecoveryCode, User
from ivr.models.types import UTCDateTime

__all__ = [
    "RELEASED",
    "AuditEntry",
    "Availability",
    "Base",
    "Call",
    "CallEvent",
    "CallOutcome",
    "CallStatus",
    "Channel",
    "CountedDay",
    "Dissemination",
    "DisseminationState",
    "FigureDay",
    "ForceOutcome",
    "HowKnown",
    "MessageKind",
    "MessageStatus",
    "OnlineDraft",
    "RateBucket",
    "RecoveryCode",
    "Report",
    "ReportMessage",
    "ReportOrigin",
    "ReportStatus",
    "ReportSubject",
    "StaffRole",
    "SubjectRole",
    "TwilioErasure",
    "UTCDateTime",
    "UpdateDelivery",
    "User",
    "utcnow",
]
