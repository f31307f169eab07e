"""Supervisors and admins: the audit trail, every entry, newest first, filtered.

Reading the trail is not itself audited: it shows who did what to which record,
never a report's content.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from handler_console.access import allowed
from handler_console.staff_filters import AuditLogForm
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.insight.audit_log import AuditFilters, AuditPage, audit_log
from ivr.insight.call_log import BadCursor


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/audit", view_func=audit_page, methods=["GET"])


@allowed(Action.SEE_AUDIT_LOG)
def audit_page() -> tuple[str, int]:
    form = AuditLogForm(formdata=request.args)
    page, problem = AuditPage([], None), None
    valid = form.validate()
    if valid:
        filters = AuditFilters(
            username=(form.user.data or "").strip() or None,
            action=(form.action.data or "").strip() or None,
            record_type=(form.record_type.data or "").strip() or None,
            record_id=(form.record_id.data or "").strip() or None,
        )
        try:
            page = audit_log(get_session(), filters, older_than=request.args.get("older"))
        except BadCursor:
            problem = "That page link is not valid: showing the newest entries."
            page = audit_log(get_session(), filters)
    args = {k: v for k, v in request.args.items() if k != "older"}
    return render_template(
        "console/audit.html",
        form=form,
        page=page,
        problem=problem,
        older_url=url_for("console.audit_page", **args, older=page.older) if page.older else None,
        newest_url=url_for("console.audit_page", **args) if "older" in request.args else None,
    ), (200 if valid else 400)
