"""What each staff role may do: the one table the console and the services both ask.

Admins manage accounts; supervisors review and release reports; handlers take
calls and write reports. The console's views are marked with the action they
perform (`@allowed(Action...)` in handler_console/access.py) and the services
(ivr/records/review.py, force_outcomes.py) check the same action, so a page and
the function behind it can never disagree about who may act.

It lives in `core`, not `staff`, because every room that acts for a member of
staff needs it, and `online` (which must never import `staff`) uses `records`.
"""

from __future__ import annotations

from enum import StrEnum

from ivr.models import StaffRole

HANDLER, SUPERVISOR, ADMIN = StaffRole.HANDLER, StaffRole.SUPERVISOR, StaffRole.ADMIN


class Action(StrEnum):
    USE_OWN_ACCOUNT = "use_own_account"  # sign out, change one's own password and phone
    TAKE_CALLS = "take_calls"  # the queue, taking a caller
    WRITE_REPORTS = "write_reports"  # one's own reports: open, save, submit
    READ_ANY_REPORT = "read_any_report"  # a report someone else wrote
    REVIEW_REPORTS = "review_reports"  # approve, return, redirect, sanitise; delivery alerts
    RECORD_FORCE_OUTCOMES = "record_force_outcomes"  # what a force did with a report
    MAKE_TEST_CALLS = "make_test_calls"
    SEE_FLOWS = "see_flows"
    SEE_CALL_LOG = "see_call_log"
    SEE_AUDIT_LOG = "see_audit_log"
    SEE_FIGURES = "see_figures"
    MANAGE_USERS = "manage_users"


MAY: dict[Action, frozenset[StaffRole]] = {
    Action.USE_OWN_ACCOUNT: frozenset(StaffRole),
    Action.TAKE_CALLS: frozenset({HANDLER, SUPERVISOR}),
    Action.WRITE_REPORTS: frozenset({HANDLER, SUPERVISOR}),
    Action.READ_ANY_REPORT: frozenset({SUPERVISOR}),
    Action.REVIEW_REPORTS: frozenset({SUPERVISOR}),
    Action.RECORD_FORCE_OUTCOMES: frozenset({SUPERVISOR}),
    Action.MAKE_TEST_CALLS: frozenset({SUPERVISOR, ADMIN}),
    Action.SEE_FLOWS: frozenset({SUPERVISOR, ADMIN}),
    Action.SEE_CALL_LOG: frozenset({SUPERVISOR, ADMIN}),
    Action.SEE_AUDIT_LOG: frozenset({SUPERVISOR, ADMIN}),
    Action.SEE_FIGURES: frozenset({SUPERVISOR, ADMIN}),
    Action.MANAGE_USERS: frozenset({ADMIN}),
}


def may(role: str | None, action: Action) -> bool:
    """True when a member of staff with this role may do this."""
    return role in MAY[action]
