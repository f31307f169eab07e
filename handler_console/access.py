"""Who may see what: sign-in, idle timeout, roles, CSRF and the security headers.

Deny by default: `guard` runs before every console request and lets a request
through only to a public endpoint (sign-in, static files) or, for a signed-in
user, to a view marked with `@allowed(Action...)` whose action the user's role
may perform (the one table of who may do what: ivr/core/permissions.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_login import LoginManager, UserMixin, current_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.wrappers import Response

from ivr.core.db import get_session
from ivr.core.permissions import MAY, Action, may
from ivr.core.runtime import get_core
from ivr.models import StaffRole, User

# The sign-in steps: the second two check for themselves that the first was passed.
PUBLIC_ENDPOINTS = {"console.login", "console.login_code", "console.login_enrol", "console.static"}
# Requests the page makes by itself (auto-refresh) do not count as activity.
PASSIVE_ENDPOINTS = {"console.queue_rows"}
# All a user whose password an admin set may do until they choose their own.
FIRST_PASSWORD = {"console.account", "console.change_password", "console.logout"}

F = TypeVar("F", bound=Callable[..., Any])

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "console.login"
login_manager.login_message = "Please sign in."
login_manager.login_message_category = "info"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class Staff(UserMixin):
    """The signed-in user. Its id carries the account's session version, so a
    password change or a disabled account ends every session made before it."""

    def __init__(self, record: User) -> None:
        self.record = record

    def get_id(self) -> str:
        return f"{self.record.id}:{self.record.session_version}"

    @property
    def role(self) -> StaffRole:
        return self.record.role

    @property
    def username(self) -> str:
        return self.record.username


@login_manager.user_loader
def _load_user(user_id: str) -> Staff | None:
    record_id, _, version = user_id.partition(":")
    if not record_id.isdigit() or not version.isdigit():
        return None
    record = get_session().get(User, int(record_id))
    if record is None or not record.active or record.session_version != int(version):
        return None
    return Staff(record)


def init_app(state: BlueprintSetupState) -> None:
    app = state.app
    # Only console views check CSRF (in `guard`): Twilio's webhooks are signed instead.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # A token lives as long as the session: a long call must not make a save fail.
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    csrf.init_app(app)
    login_manager.init_app(app)
    app.register_error_handler(CSRFError, _csrf_error)
    # Pages show a link or a control only to those the guard would let through.
    app.jinja_env.globals.update(
        may_open=may_open, may=lambda action: current_user_may(Action(action))
    )


def allowed(action: Action) -> Callable[[F], F]:
    """Mark a view as doing `action`: open to the roles that may (`guard` enforces it)."""

    def mark(view: F) -> F:
        view.allowed_roles = MAY[action]  # type: ignore[attr-defined]
        return view

    return mark


def may_open(endpoint: str) -> bool:
    """Whether the signed-in user's role opens this console endpoint (for links)."""
    view = current_app.view_functions.get(endpoint)
    roles: frozenset[str] = getattr(view, "allowed_roles", frozenset())
    return bool(current_user.is_authenticated) and current_user.role in roles


def current_user_may(action: Action) -> bool:
    """For a page that shows more to some roles (what it shows, not whether it opens)."""
    return bool(current_user.is_authenticated) and may(current_user.role, action)


def guard() -> Response | None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        if request.method == "POST":
            csrf.protect()
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    settings = get_core().settings
    now = time.time()
    seen = session.get("seen", 0)
    if now - seen > settings.session_idle_minutes * 60:
        end_session()
        flash(f"You were signed out after {settings.session_idle_minutes} minutes idle.", "info")
        return redirect(url_for("console.login", next=request.full_path))
    if request.endpoint not in PASSIVE_ENDPOINTS:
        session["seen"] = now
    if current_user.record.must_change_password and request.endpoint not in FIRST_PASSWORD:
        # A password an admin set (and so knows): the user's own comes first.
        flash("Choose your own password before going on: an administrator set this one.", "info")
        return redirect(url_for("console.account"))
    view = current_app.view_functions.get(request.endpoint or "")
    allowed: frozenset[str] = getattr(view, "allowed_roles", frozenset())
    if current_user.role not in allowed:
        abort(403)
    if request.method == "POST":
        csrf.protect()
    return None


def end_session() -> None:
    logout_user()
    session.clear()


def security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    # same-origin, not no-referrer: over HTTPS Flask-WTF refuses a form whose Referer
    # is missing or from another origin (its defence when a token leaks). The Referer
    # still never leaves the console: no other origin is told where staff came from.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    return response


def forbidden(_exc: Exception) -> tuple[str, int]:
    page = render_template(
        "console/error.html",
        title="Not for your role",
        message="This page is not part of what your role does. Nothing was shown or changed.",
    )
    return page, 403


def not_found(_exc: Exception) -> tuple[str, int]:
    page = render_template(
        "console/error.html",
        title="Page not found",
        message="There is no such page in the console, or the record it names does not exist. "
        "Check the address, or go back to the console.",
    )
    return page, 404


def unknown_page(anything: str) -> NoReturn:
    """Every console address that no view has: the console's own 404 page, with its
    menu and a way back, not the web server's bare one."""
    abort(404)


def _csrf_error(_exc: CSRFError) -> Response:
    flash("That form had expired. Nothing was changed: please try again.", "error")
    rule = request.url_rule
    back = request.path if rule is not None and "GET" in (rule.methods or ()) else None
    return redirect(back or url_for("console.queue"))
