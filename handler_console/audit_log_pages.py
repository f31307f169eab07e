"""Supervisors and admins: the audit trail, every entry, newest first, filtered.

Reading the trail is not itself audited: it shows who did what to which record,
never a report's content.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from handler_console.access import allowed
from handler_console.staff_filters import AuditLogForm
from ivr.core.db import get_session
from ivr.core.permissions import Action, may
from ivr.insight.audit_log import AuditPage, AuditRow, audit_log
from ivr.insight.call_log import BadCursor
from ivr.models import User


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/audit", view_func=audit_page, methods=["GET"])


@allowed(Action.SEE_AUDIT_LOG)
def audit_page() -> tuple[str, int]:
    form = AuditLogForm(formdata=request.args)
    page, problem = AuditPage([], None), None
    valid = form.validate()
    if valid:
        filters = form.filters()
        try:
            page = audit_log(get_session(), filters, older_than=request.args.get("older"))
        except BadCursor:
            problem = "That page link is not valid: showing the newest entries."
            page = audit_log(get_session(), filters)
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "older"}
    return render_template(
        "console/audit.html",
        form=form,
        page=page,
        usernames=_usernames(page),
        record_url=_record_url,
        problem=problem,
        older_url=url_for("console.audit_page", **args, older=page.older) if page.older else None,
        newest_url=url_for("console.audit_page", **args) if "older" in request.args else None,
    ), (200 if valid else 400)


def _usernames(page: AuditPage) -> dict[int, str]:
    """Names for the users an entry names by id (as its record, or in its detail)."""
    ids: set[int] = set()
    for row in page.rows:
        if row.record_type == "user" and (row.record_id or "").isdigit():
            ids.add(int(row.record_id or 0))
        taken_from = row.detail.get("from_user_id")
        if isinstance(taken_from, int):
            ids.add(taken_from)
    if not ids:
        return {}
    found = get_session().execute(select(User.id, User.username).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in found}


def _record_url(row: AuditRow) -> str | None:
    """Where the record an entry is about can be seen, for the reader's role."""
    role = current_user.role
    key = row.record_id or ""
    if row.record_type == "report" and key and may(role, Action.REVIEW_REPORTS):
        return url_for("console.review_report", reference=key)
    if row.record_type == "call" and key.isdigit():
        return url_for("console.call", call_id=int(key))
    if row.record_type == "user" and key.isdigit() and may(role, Action.MANAGE_USERS):
        return url_for("console.user_edit", user_id=int(key))
    return None
