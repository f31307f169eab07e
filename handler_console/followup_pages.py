"""The console's side of keeping in contact: online reports waiting for a handler,
a report's follow-up (the force's questions, the reporter's answers), the review of
what reporters send, and the follow-up code a handler reads to a caller.

The code is made on request and shown on that one page only (it is stored as a hash):
the screen prompt says to read it slowly, twice.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from handler_console.access import allowed
from ivr.core.audit import audit
from ivr.core.db import get_session
from ivr.core.followup import issue_code, spaced
from ivr.core.permissions import Action, may
from ivr.core.runtime import get_core
from ivr.models import Call, Report, ReportMessage
from ivr.records import followup_messages as fm
from ivr.records.pii import find_in_text


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/online", view_func=online_reports, methods=["GET"])
    bp.add_url_rule("/online/<reference>/take", view_func=take_online, methods=["POST"])
    bp.add_url_rule("/reports/<reference>/follow-up", view_func=report_followup, methods=["GET"])
    bp.add_url_rule("/reports/<reference>/follow-up/ask", view_func=ask_question, methods=["POST"])
    bp.add_url_rule("/reports/<reference>/follow-up/code", view_func=new_code, methods=["POST"])
    bp.add_url_rule("/follow-ups", view_func=follow_ups, methods=["GET"])
    bp.add_url_rule(
        "/follow-ups/<int:message_id>/approve", view_func=approve_follow_up, methods=["POST"]
    )


def _report(reference: str) -> Report:
    found = get_session().scalar(select(Report).where(Report.reference == reference))
    if found is None:
        abort(404)
    return found


@allowed(Action.WRITE_REPORTS)
def online_reports() -> str:
    waiting = get_session().scalars(
        select(Report)
        .where(Report.origin == "online", Report.status == "draft", Report.created_by_id.is_(None))
        .order_by(Report.urgent.desc(), Report.created_at)
    )
    return render_template("console/online_reports.html", reports=list(waiting))


@allowed(Action.WRITE_REPORTS)
def take_online(reference: str) -> Response:
    db = get_session()
    report = db.scalar(select(Report).where(Report.reference == reference).with_for_update())
    if report is None or report.created_by_id is not None or report.status != "draft":
        flash("Another handler has already taken that report.", "error")
        return redirect(url_for("console.online_reports"))
    report.created_by_id = current_user.record.id
    audit(db, current_user.record, "take", "report", reference, reason="online report")
    db.commit()
    return redirect(url_for("console.report", reference=reference, why="editing draft"))


def _on_a_call_about(user_id: int, report: Report) -> bool:
    """The handler is speaking to a caller who followed this report up by phone."""
    calls = get_session().scalars(
        select(Call).where(Call.handler_id == user_id, Call.status == "answered")
    )
    return any((c.answers or {}).get("followup_report") == report.id for c in calls)


@allowed(Action.WRITE_REPORTS)
def report_followup(reference: str) -> str:
    report = _report(reference)
    user = current_user.record
    mine = report.created_by_id == user.id or _on_a_call_about(user.id, report)
    if not mine and not may(user.role, Action.READ_ANY_REPORT):
        abort(403)
    db = get_session()
    audit(db, user, "view", "report", reference, reason="follow-up")
    db.commit()
    return render_template(
        "console/report_followup.html",
        report=report,
        messages=fm.messages(db, report),
        forces=[(f, get_core().forces.name(f)) for f in fm.forces_of(db, report)],
        code=None,
    )


@allowed(Action.REVIEW_REPORTS)
def ask_question(reference: str) -> Response:
    report = _report(reference)
    db = get_session()
    try:
        fm.ask(db, report, current_user.record, request.form.get("text", ""),
               request.form.get("force", ""))  # fmt: skip
    except fm.MessageRefused as exc:
        db.rollback()
        flash(str(exc), "error")
    else:
        db.commit()
        flash("The question waits for the reporter, online and when they ring.", "info")
    return redirect(url_for("console.report_followup", reference=reference))


@allowed(Action.WRITE_REPORTS)
def new_code(reference: str) -> str:
    """A new follow-up code, shown on this answer only, for the handler to read out."""
    report = _report(reference)
    user = current_user.record
    if report.created_by_id != user.id and not may(user.role, Action.READ_ANY_REPORT):
        abort(403)
    db = get_session()
    code = issue_code(db, report)
    audit(db, user, "new follow-up code", "report", reference)
    db.commit()
    return render_template(
        "console/report_followup.html",
        report=report,
        messages=fm.messages(db, report),
        forces=[(f, get_core().forces.name(f)) for f in fm.forces_of(db, report)],
        code=spaced(code),
    )


@allowed(Action.REVIEW_REPORTS)
def follow_ups() -> str:
    db = get_session()
    waiting = fm.awaiting_review(db)
    rows = []
    for message in waiting:
        report = db.get_one(Report, message.report_id)
        question = db.get(ReportMessage, message.reply_to_id) if message.reply_to_id else None
        rows.append(
            {
                "message": message,
                "report": report,
                "question": question,
                "findings": [f for f in find_in_text(message.text, "text")]
                if report.anonymous
                else [],
            }
        )
    return render_template("console/follow_ups.html", rows=rows)


@allowed(Action.REVIEW_REPORTS)
def approve_follow_up(message_id: int) -> Response:
    db = get_session()
    message = db.get(ReportMessage, message_id)
    if message is None:
        abort(404)
    try:
        fm.approve(db, message, current_user.record, text=request.form.get("text"))
    except fm.MessageRefused as exc:
        db.rollback()
        flash(str(exc), "error")
    else:
        db.commit()
        flash("Approved: it goes to the force as an update to the report.", "info")
    return redirect(url_for("console.follow_ups"))
