"""The staff console: call handlers, supervisors and admins (SecureDrop's journalist_app).

Access is deny-by-default: every view must name the roles it is for with
`@allowed(Action...)` (see access.py), or it answers 403 even to a signed-in admin.
"""

from __future__ import annotations

from flask import Blueprint

from handler_console import (
    access,
    account,
    audit_log_pages,
    availability_pages,
    call_log_pages,
    clock,
    dissemination,
    figures_pages,
    finding,
    flow_pages,
    followup_pages,
    pii_check,
    queue,
    reports,
    review_pages,
    sanitise,
    sign_in,
    test_call,
    users,
    words,
)
from ivr.core.permissions import Action


def make_blueprint() -> Blueprint:
    bp = Blueprint(
        "console",
        __name__,
        url_prefix="/console",
        template_folder="templates",
        static_folder="static",
    )
    bp.record_once(access.init_app)
    bp.before_request(access.guard)
    bp.after_request(access.security_headers)
    bp.register_error_handler(403, access.forbidden)
    bp.register_error_handler(404, access.not_found)
    clock.register(bp)
    words.register(bp)
    sign_in.register(bp)
    account.register(bp)
    finding.register(bp)
    queue.register(bp)
    availability_pages.register(bp)
    reports.register(bp)
    pii_check.register(bp)
    review_pages.register(bp)
    sanitise.register(bp)
    dissemination.register(bp)
    users.register(bp)
    test_call.register(bp)
    flow_pages.register(bp)
    call_log_pages.register(bp)
    figures_pages.register(bp)
    audit_log_pages.register(bp)
    followup_pages.register(bp)
    bp.add_url_rule(
        "/<path:anything>",
        view_func=access.allowed(Action.USE_OWN_ACCOUNT)(access.unknown_page),
        methods=["GET"],
    )
    return bp
