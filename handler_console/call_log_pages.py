"""Supervisors and admins: the call log (every call, filtered, newest first) and a call's timeline.

Nothing here is a report or identifies a caller (no number, no CallSid: see
ivr/insight/call_log.py), so looking is not audited; opening a call's report is, on
the report's own page.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for
from sqlalchemy import select

from handler_console.access import allowed
from handler_console.staff_filters import (
    CallLogForm,
    category_choices,
    step_label,
)
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.core.runtime import get_core
from ivr.insight.call_log import OUTCOMES, BadCursor, CallLogPage, call_log, timeline
from ivr.models import Call, CallOutcome, Report

OUTCOME_LABELS = {
    CallOutcome.ABANDONED: "Hung up in the flow",
    CallOutcome.LEFT_QUEUE: "Left the queue",
    CallOutcome.LEFT_FOR_ONLINE: "Left to report online",
    CallOutcome.ANSWERED: "Answered",
    CallOutcome.FAILED: "Failed",
}


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/calls", view_func=calls, methods=["GET"])
    bp.add_url_rule("/calls/<int:call_id>", view_func=call, methods=["GET"])


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
        args = {k: v for k, v in request.args.items() if k != "older"}
        older_url = url_for("console.calls", **args, older=page.older)
    return render_template(
        "console/calls.html",
        form=form,
        page=page,
        problem=problem,
        older_url=older_url,
        is_deeper="older" in request.args,
        newest_url=url_for(
            "console.calls", **{k: v for k, v in request.args.items() if k != "older"}
        ),
        labels=_labels(),
    ), (200 if valid else 400)


@allowed(Action.SEE_CALL_LOG)
def call(call_id: int) -> str:
    db = get_session()
    found = db.get(Call, call_id)
    steps = timeline(db, call_id)
    if found is None or steps is None:
        abort(404)
    report = db.scalar(select(Report.reference).where(Report.call_id == call_id))
    return render_template(
        "console/call.html", call=found, steps=steps, report=report, labels=_labels()
    )


def _labels() -> dict[str, object]:
    forces = get_core().forces
    return {
        "force": forces.name,
        "category": dict(category_choices()),
        "step": step_label,
        "outcome": OUTCOME_LABELS,
        "outcome_filters": OUTCOMES,
    }
