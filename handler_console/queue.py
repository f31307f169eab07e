"""The queue: callers waiting, urgent first then longest wait, and taking one."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
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
from ivr.models import Call, Report, utcnow
from ivr.records.record import open_report_for_call
from ivr.voice.gateway import CallGateway, GatewayError, connect_twiml
from ivr.voice.runtime import get_voice
from ivr.voice.taking import claim, next_waiting_id, release, waiting_calls


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/queue", view_func=queue, methods=["GET"])
    bp.add_url_rule("/queue/rows", view_func=queue_rows, methods=["GET"])
    bp.add_url_rule("/queue/take-next", view_func=take_next, methods=["POST"])
    bp.add_url_rule("/queue/<int:call_id>/take", view_func=take, methods=["POST"])


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
    if not user.phone_e164:
        flash("Add the phone you take calls on (Your account) before taking a caller.", "error")
        return redirect(url_for("console.queue"))
    if not claim(db, call_id, user.id):
        flash("Another handler has just taken that caller, or they hung up.", "error")
        return redirect(url_for("console.queue"))
    call = db.get(Call, call_id)
    if call is None:  # pragma: no cover - claimed a row that cannot vanish
        abort(404)
    db.refresh(call)
    runtime = get_voice()
    settings = runtime.settings
    voice = runtime.flows.for_line(call.line).voice_for(call.language)
    try:
        if not call.live_call_sid:
            raise GatewayError("That caller's line is no longer open.")
        if call.is_test:
            # A test call is simulated by the console: there is no line at Twilio to bring
            # to the handler's phone. The report opens as for a real caller.
            flash("A test call: nothing rings, and its report will never be sent.", "info")
        else:
            _bring_to_phone(call, user.phone_e164, voice.voice, voice.language)
    except GatewayError as exc:
        release(db, call.id, user.id)
        flash(f"{exc} The caller is still in the queue.", "error")
        return redirect(url_for("console.queue"))
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
    report = open_report_for_call(
        db, call, user, get_core().cipher, load_categories(settings.config_dir)
    )
    audit(db, user, "take", "call", call.id, reason="taking call")
    availability_pages.became_busy(user.id)
    db.commit()
    return redirect(url_for("console.report", reference=report.reference, why="taking call"))


def _bring_to_phone(call: Call, phone: str, voice: str, language: str) -> None:
    settings = get_core().settings
    gateway: CallGateway = current_app.extensions["ivr.voice.gateway"]
    twiml = connect_twiml(
        phone,
        settings.twilio_caller_id,
        settings.public_base_url or request.url_root,
        call.id,
        (voice, language),
    )
    gateway.redirect_call(call.live_call_sid or "", twiml)


def waited(since: datetime | None, now: datetime) -> str:
    """How long a caller has waited, as a handler reads it: "4:07" or "1:02:30"."""
    if since is None:
        return "—"
    seconds = max(0, int((now - since).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
