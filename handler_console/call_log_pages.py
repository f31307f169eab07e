"""Supervisors and admins: the call log (every call, filtered, newest first), its CSV,
and a call's timeline.

Nothing here is a report or identifies a caller (no number, no CallSid: see
ivr/insight/call_log.py), so looking is not audited; opening a call's report is, on
the report's own page. The CSV leaves the system, so downloading it is audited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from handler_console.access import allowed
from handler_console.clock import in_uk
from handler_console.staff_filters import CallLogForm
from handler_console.words import (
    CALL_OUTCOMES,
    CALL_STATUSES,
    LANGUAGES,
    category_name,
    force_name,
    label,
    line_name,
    role_label,
    step_name,
)
from ivr.core.audit import audit
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.insight.call_log import (
    BadCursor,
    CallLogPage,
    CallRow,
    call_log,
    timeline,
    waited_seconds,
)
from ivr.models import Call, CallOutcome, Report

CSV_PAGE = 1000


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/calls", view_func=calls, methods=["GET"])
    bp.add_url_rule("/calls.csv", view_func=calls_csv, methods=["GET"])
    bp.add_url_rule("/calls/<call_id:call_id>", view_func=call, methods=["GET"])


def _without(name: str) -> dict[str, Any]:
    return {k: v for k, v in request.args.items() if k != name}


@allowed(Action.SEE_CALL_LOG)
def calls() -> tuple[str, int]:
    form = CallLogForm(formdata=request.args)
    page, problem = CallLogPage([], None), None
    valid = form.validate()
    if valid:
        try:
            page = call_log(get_session(), form.filters(), older_than=request.args.get("older"))
        except BadCursor:
            problem = "That page link is not valid: showing the newest calls."
            page = call_log(get_session(), form.filters())
    older_url = None
    if page.older:
        older_url = url_for("console.calls", **_without("older"), older=page.older)
    return render_template(
        "console/calls.html",
        form=form,
        page=page,
        problem=problem,
        older_url=older_url,
        is_deeper="older" in request.args,
        newest_url=url_for("console.calls", **_without("older")),
        csv_url=url_for("console.calls_csv", **_without("older")),
    ), (200 if valid else 400)


@allowed(Action.SEE_CALL_LOG)
def calls_csv() -> Response | tuple[str, int]:
    form = CallLogForm(formdata=request.args)
    if not form.validate():
        return "Check the filters: " + "; ".join(
            error for errors in form.errors.values() for error in errors
        ), 400
    db = get_session()
    filters = form.filters()
    audit(
        db,
        current_user.record,
        "export",
        "calls",
        None,
        detail={k: v for k, v in _without("older").items() if v},
    )
    db.commit()
    return Response(
        stream_with_context(_csv_rows(filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="helpline-calls.csv"'},
    )


CSV_HEADER = [
    "started (UK time)",
    "line",
    "language",
    "force",
    "role",
    "category",
    "urgent",
    "anonymous",
    "outcome",
    "hung up at",
    "waited (seconds)",
    "report",
    "test call",
]


def _csv_line(row: CallRow) -> list[str]:
    return [
        in_uk(row.started_at).strftime("%Y-%m-%d %H:%M:%S %Z"),
        line_name(row.line),
        label(LANGUAGES, row.language),
        force_name(row.force) if row.force else "",
        role_label(row.role) if row.role else "",
        category_name(row.category) if row.category else "",
        "yes" if row.urgent else "no",
        {True: "yes", False: "no"}.get(row.anonymous, ""),  # type: ignore[arg-type]
        label(CALL_OUTCOMES, row.outcome, "") or label(CALL_STATUSES, row.status),
        step_name(row.abandoned_step) if row.outcome == CallOutcome.ABANDONED else "",
        "" if row.waited_seconds is None else str(row.waited_seconds),
        row.report_reference or "",
        "yes" if row.is_test else "no",
    ]


def _csv_rows(filters) -> Iterator[str]:
    """Every matching call, newest first, a keyset page at a time."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    cursor = None
    while True:
        page = call_log(get_session(), filters, older_than=cursor, page_size=CSV_PAGE)
        for row in page.rows:
            writer.writerow(_csv_line(row))
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if page.older is None:
            return
        cursor = page.older


@allowed(Action.SEE_CALL_LOG)
def call(call_id: int) -> str:
    db = get_session()
    found = db.get(Call, call_id)
    steps = timeline(db, call_id)
    if found is None or steps is None:
        abort(404)
    report = db.scalar(select(Report.reference).where(Report.call_id == call_id))
    return render_template(
        "console/call.html",
        call=found,
        steps=steps,
        report=report,
        waited_seconds=waited_seconds(found.queued_at, found.answered_at, found.queue_seconds),
    )
