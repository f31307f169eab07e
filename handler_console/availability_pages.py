"""Who is there to answer: each handler says available or away; taking a call makes them
busy; signing out or going idle makes them away (ivr/core/availability.py). Supervisors
see everyone's state and the queue's longest wait on the queue page."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from handler_console.access import allowed
from ivr.core.availability import AVAILABLE, AWAY, BUSY, Answerer, answerers, set_availability
from ivr.core.availability import touch as touch_availability
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.core.runtime import get_core
from ivr.models import Call, utcnow

TAKERS = ("handler", "supervisor")
SAID = {
    AVAILABLE: "You are available: callers are put through to the queue.",
    AWAY: "You are away: if nobody else is available, callers are told so at once.",
}


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/availability", view_func=change_availability, methods=["POST"])
    bp.before_request(sign_of_life)


def _idle() -> timedelta:
    return timedelta(minutes=get_core().settings.session_idle_minutes)


def sign_of_life() -> None:
    """Any console request a person makes keeps them from counting as idle; the queue's
    automatic refresh does not (a tab left open all night is not someone answering)."""
    if request.endpoint in ("console.queue_rows", "console.static"):
        return
    if not current_user.is_authenticated or current_user.role not in TAKERS:
        return
    db = get_session()
    if touch_availability(db, current_user.record, utcnow()):
        db.commit()


@allowed(Action.TAKE_CALLS)
def change_availability() -> Response:
    state = request.form.get("state", "")
    if state not in SAID:
        flash("Choose available or away.", "error")
        return redirect(url_for("console.queue"))
    db = get_session()
    set_availability(db, current_user.record.id, state, utcnow())
    db.commit()
    flash(SAID[state], "info")
    return redirect(url_for("console.queue"))


def became_busy(user_id: int) -> None:
    """Taking a call: busy until the handler says available again (in the caller's
    transaction)."""
    set_availability(get_session(), user_id, BUSY, utcnow())


def signed_out(user_id: int) -> None:
    set_availability(get_session(), user_id, AWAY, utcnow())


def queue_context(calls: list[Call], now: datetime) -> dict[str, object]:
    """Your own state; for supervisors, everyone's and the longest wait."""
    db = get_session()
    team: list[Answerer] = answerers(db, now, _idle())
    mine = next((a for a in team if a.username == current_user.username), None)
    longest = None
    for call in calls:
        if call.queued_at is not None and not call.is_test:
            queued = call.queued_at
            if queued.tzinfo is None:
                queued = queued.replace(tzinfo=now.tzinfo)
            wait = now - queued
            longest = wait if longest is None or wait > longest else longest
    return {
        "my_state": mine.state if mine else AWAY,
        "team": team if current_user.role == "supervisor" else [],
        "available_count": sum(1 for a in team if a.state == AVAILABLE),
        "longest_wait": longest,
    }
