"""The records, one module each; importing this package registers them all."""

from ivr.models.base import Base, utcnow
from ivr.models.calls import Call, CallEvent
from ivr.models.delivery import Dissemination
from ivr.models.erasure import TwilioErasure
from ivr.models.figures import CountedDay, FigureDay
from ivr.models.online import OnlineDraft, RateBucket, ReportMessage
from ivr.models.reports import Report, ReportSubject
from ivr.models.staff import AuditEntry, User

__all__ = [
    "AuditEntry",
    "Base",
    "Call",
    "CallEvent",
    "CountedDay",
    "Dissemination",
    "FigureDay",
    "OnlineDraft",
    "RateBucket",
    "Report",
    "ReportMessage",
    "ReportSubject",
    "TwilioErasure",
    "User",
    "utcnow",
]
