"""Find a report by its reference, from the box on every page.

A handler is taken to a report of their own, a supervisor to any report's review
page (or the report itself while it is a draft). What was typed is read loosely
(lower case, spaces or no hyphen) since references are read out on the phone.
"""

from __future__ import annotations

import re

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from handler_console.access import allowed
from ivr.core.db import get_session
from ivr.core.permissions import Action, may
from ivr.models import Report, ReportStatus

_NOT_REFERENCE = re.compile(r"[^A-Z0-9]")


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/find", view_func=find_report, methods=["GET"])


def normalise_reference(typed: str) -> str:
    """ "abcd efgh" or "ABCDEFGH" -> "ABCD-EFGH"."""
    bare = _NOT_REFERENCE.sub("", typed.upper())[:16]
    return f"{bare[:4]}-{bare[4:]}" if len(bare) == 8 else bare


@allowed(Action.WRITE_REPORTS)
def find_report() -> Response:
    typed = (request.args.get("reference") or "").strip()
    reference = normalise_reference(typed)
    back = request.referrer if request.referrer and "/console/" in request.referrer else None
    found = (
        get_session().scalar(select(Report).where(Report.reference == reference))
        if reference
        else None
    )
    user = current_user.record
    reads_any = may(user.role, Action.READ_ANY_REPORT)
    if found is None or (not reads_any and found.created_by_id != user.id):
        # The same answer for "no such report" and "not yours": nothing is given away.
        shown = reference or "nothing"
        flash(f"No report you can open has the reference {shown}. Check it and try again.", "error")
        return redirect(back or url_for("console.my_reports"))
    if may(user.role, Action.REVIEW_REPORTS) and found.status != ReportStatus.DRAFT:
        return redirect(url_for("console.review_report", reference=found.reference))
    return redirect(url_for("console.report", reference=found.reference, why="reading"))
