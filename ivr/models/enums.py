"""The closed sets of codes the records hold: statuses, roles, outcomes.

Each is a `StrEnum`, so a member is its own code ("queued" == CallStatus.QUEUED)
and goes into JSON, templates and f-strings as that code. `code_column` makes
the column that holds one: the database refuses any other value with a CHECK
constraint (added to existing databases by migration 0005), and the ORM hands
back enum members, not bare strings.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


class CallStatus(StrEnum):
    """Where a call is: in the flow, queued for a handler, answered, or over."""

    IN_FLOW = "in_flow"
    QUEUED = "queued"
    ANSWERED = "answered"
    ENDED = "ended"


class CallOutcome(StrEnum):
    """How a call ended, for the call log and the figures."""

    ABANDONED = "abandoned"  # hung up in the flow
    LEFT_QUEUE = "left_queue"  # hung up while waiting
    LEFT_FOR_ONLINE = "left_for_online"  # chose to report online instead of waiting
    ANSWERED = "answered"
    FAILED = "failed"
    CLOSED = "closed"  # rang outside the line's opening hours: told so at once
    NO_HANDLER = "no_handler"  # nobody available to answer: told so at once or while queued


class ReportStatus(StrEnum):
    """draft -> submitted -> approved or returned -> disseminated."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    DISSEMINATED = "disseminated"
    CLOSED = "closed"  # a test call's report, closed by a supervisor (never sent)


# A report a supervisor has let go: its disseminations exist.
RELEASED = (ReportStatus.APPROVED, ReportStatus.DISSEMINATED)


class ReportOrigin(StrEnum):
    CALL = "call"
    ONLINE = "online"


class HowKnown(StrEnum):
    """How the reporter knows what they report."""

    SAW = "saw"
    TOLD = "told"
    AFFECTED = "affected"


class SubjectRole(StrEnum):
    """What the person reported on is to the force."""

    OFFICER = "officer"
    STAFF = "staff"
    VOLUNTEER = "volunteer"
    UNKNOWN = "unknown"


class DisseminationState(StrEnum):
    """pending until the force acknowledges; redirected when a supervisor sends it elsewhere."""

    PENDING = "pending"
    DELIVERED = "delivered"
    REDIRECTED = "redirected"


class Channel(StrEnum):
    """How a force's Professional Standards Department receives reports."""

    HTTPS = "https"
    EMAIL = "email"


class ForceOutcome(StrEnum):
    """What a force told us it did with a piece of intelligence."""

    INVESTIGATION = "investigation"
    PASSED_TO_OTHER_FORCE = "passed_to_other_force"
    NO_FURTHER_ACTION = "no_further_action"
    SAFEGUARDING = "safeguarding"
    RECORDED = "recorded"


class MessageKind(StrEnum):
    """A message after the report (ivr/models/online.py ReportMessage)."""

    QUESTION = "question"  # from the force, through a supervisor
    ANSWER = "answer"  # the reporter's answer to a question
    ADDITION = "addition"  # more the reporter added unasked


class MessageStatus(StrEnum):
    """question: open -> answered; answer or addition: submitted -> approved or returned."""

    OPEN = "open"
    ANSWERED = "answered"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


class Availability(StrEnum):
    """Whether a handler can take a call now (ivr/core/availability.py)."""

    AVAILABLE = "available"
    BUSY = "busy"  # on a call: set by taking one
    AWAY = "away"


class StaffRole(StrEnum):
    """What a member of staff is; what each may do is ivr/staff/permissions.py."""

    HANDLER = "handler"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


def code_column(codes: type[StrEnum], name: str, length: int) -> Enum:
    """A VARCHAR(length) holding one of `codes`, checked by the database.

    The CHECK constraint is named ck_<table>_<name> (the naming convention in
    base.py), so that migrations can find it on both back-ends.
    """
    return Enum(
        codes,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
