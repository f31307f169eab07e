"""The queue: callers waiting, urgent first then longest wait, and taking one."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from handler_console import availability_pages
from handler_console.access import allowed
from ivr.core.audit import audit
from ivr.core.categories import load_categories
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.core.runtime import get_core
from ivr.models import Report, utcnow
from ivr.records.record import open_report_for_call
from ivr.voice.taking import NotTaken, next_waiting_id, take_call, waiting_calls


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/queue", view_func=queue, methods=["GET"])
    bp.add_url_rule("/queue/rows", view_func=queue_rows, methods=["GET"])
    bp.add_url_rule("/queue/take-next", view_func=take_next, methods=["POST"])
    bp.add_url_rule("/queue/<call_id:call_id>/take", view_func=take, methods=["POST"])


def _rows_context() -> dict[str, object]:
    runtime = get_core()
    return {
        "calls": waiting_calls(get_session()),
        "now": utcnow(),
        "forces": runtime.forces,
        "categories": load_categories(runtime.settings.config_dir),
        "waited": waited,
    }


@allowed(Action.TAKE_CALLS)
def queue() -> str:
    context = _rows_context()
    return render_template(
        "console/queue.html",
        refresh_seconds=get_core().settings.queue_refresh_seconds,
        has_phone=bool(current_user.record.phone_e164),
        **context,
        **availability_pages.queue_context(context["calls"], context["now"]),  # type: ignore[arg-type]
    )


@allowed(Action.TAKE_CALLS)
def queue_rows() -> str:
    """The queue's table body alone, for the page's self-refresh."""
    return render_template("console/queue_rows.html", **_rows_context())


@allowed(Action.TAKE_CALLS)
def take_next() -> Response:
    call_id = next_waiting_id(get_session())
    if call_id is None:
        flash("Nobody is waiting.", "info")
        return redirect(url_for("console.queue"))
    return _take(call_id)


@allowed(Action.TAKE_CALLS)
def take(call_id: int) -> Response:
    return _take(call_id)


def _take(call_id: int) -> Response:
    db = get_session()
    user = current_user.record
    base_url = get_core().settings.public_base_url or request.url_root
    try:
        call = take_call(db, call_id, user.id, user.phone_e164 or "", base_url)
    except NotTaken as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.queue"))
    if call.is_test:
        # A test call is simulated by the console: there is no line at Twilio to bring
        # to the handler's phone. The report opens as for a real caller.
        flash("A test call: nothing rings, and its report will never be sent.", "info")
    followed_up = (call.answers or {}).get("followup_report")
    if followed_up is not None:
        # A reporter who came back with their reference and code: their report opens,
        # with its questions, instead of a new one.
        report = db.get(Report, int(followed_up))
        if report is not None:
            audit(db, user, "take", "call", call.id, reason="follow-up call")
            audit(db, user, "view", "report", report.reference, reason="follow-up call")
            db.commit()
            return redirect(url_for("console.report_followup", reference=report.reference))
    settings = get_core().settings
    report = open_report_for_call(
        db, call, user, get_core().cipher, load_categories(settings.config_dir)
    )
    audit(db, user, "take", "call", call.id, reason="taking call")
    availability_pages.became_busy(user.id)
    db.commit()
    return redirect(url_for("console.report", reference=report.reference, why="taking call"))


def waited(since: datetime | None, now: datetime) -> str:
    """How long a caller has waited, as a handler reads it: "4:07" or "1:02:30"."""
    if since is None:
        return "—"
    seconds = max(0, int((now - since).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
