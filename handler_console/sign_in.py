"""Signing in (password, then a code from an authenticator app), enrolling, signing out.

Between the two steps the session holds only who passed the password step and when:
it is not signed in, and that half sign-in ends after PENDING_SECONDS or when the
account's session version moves (a password change, a reset, a disabled account).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from handler_console import availability_pages
from handler_console.access import Staff, allowed, end_session
from handler_console.forms import CodeForm, SignInForm
from ivr.core.audit import audit
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.core.runtime import get_core
from ivr.models import User
from ivr.staff import signing_in, two_factor

PENDING_SECONDS = 300
# One answer for every failed sign-in: unknown name, wrong password, locked or disabled.
FAILED = "Wrong username or password, or the account is locked or disabled."
WRONG_CODE = "That code is not right. Codes change every 30 seconds and each works once."


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/login", view_func=login, methods=["GET", "POST"])
    bp.add_url_rule("/login/code", view_func=login_code, methods=["GET", "POST"])
    bp.add_url_rule("/login/enrol", view_func=login_enrol, methods=["GET", "POST"])
    bp.add_url_rule("/logout", view_func=logout, methods=["POST"])


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: never another site (open redirect)."""
    if target and target.startswith("/console/") and "//" not in target and "\\" not in target:
        return target
    return url_for("console.home")


def _limits() -> dict[str, Any]:
    settings = get_core().settings
    return {
        "max_failures": settings.login_max_failures,
        "lock_minutes": settings.login_lock_minutes,
        "backoff_ms": settings.login_failure_delay_ms,
    }


def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("console.home"))
    form = SignInForm()
    if form.validate_on_submit():
        db = get_session()
        user = signing_in.check_password(
            db, form.username.data or "", form.password.data or "", **_limits()
        )
        if user is None:
            flash(FAILED, "error")
            return render_template("console/login.html", form=form)
        then = _safe_next(request.args.get("next"))
        if not get_core().settings.two_factor:  # development only (settings refuse otherwise)
            signing_in.finish(db, user, "none")
            return _signed_in(user, then)
        signing_in.password_passed(db, user)
        # A new session: nothing fixed before sign-in carries over.
        session.clear()
        session["pending"] = {
            "user": user.id,
            "version": user.session_version,
            "at": time.time(),
            "next": then,
        }
        step = "console.login_code" if two_factor.is_enrolled(user) else "console.login_enrol"
        return redirect(url_for(step))
    return render_template("console/login.html", form=form)


def _pending_user() -> User | None:
    """The account that passed the password step in this session, if still valid."""
    pending = session.get("pending")
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    user = get_session().get(User, pending.get("user"))
    if user is None or not user.active or user.session_version != pending.get("version"):
        return None
    return user


def _start_again() -> Response:
    session.pop("pending", None)
    flash("Please sign in again.", "info")
    return redirect(url_for("console.login"))


def _signed_in(user: User, then: str) -> Response:
    # A new session (new cookie, new nonce): one fixed before sign-in is worthless.
    session.clear()
    login_user(Staff(user))
    session["seen"] = time.time()
    session["nonce"] = secrets.token_urlsafe(16)
    return redirect(then)


def login_code() -> Response | str:
    user = _pending_user()
    if user is None or not two_factor.is_enrolled(user):
        return _start_again()
    form = CodeForm()
    if form.validate_on_submit():
        db = get_session()
        passed = signing_in.check_second_step(
            db, user.id, form.code.data or "", get_core().cipher, **_limits()
        )
        if passed is not None:
            signing_in.finish(db, passed[0], passed[1])
            return _signed_in(passed[0], session["pending"]["next"])
        form.code.errors = [WRONG_CODE]
    return render_template("console/login_code.html", form=form)


def login_enrol() -> Response | str:
    """First sign-in (or after an admin's reset): set up the authenticator app."""
    user = _pending_user()
    if user is None or two_factor.is_enrolled(user):
        return _start_again()
    db = get_session()
    cipher = get_core().cipher
    form = CodeForm()
    if form.validate_on_submit():
        if two_factor.confirm_enrolment(db, user, form.code.data or "", cipher):
            codes = two_factor.new_recovery_codes(db, user)
            signing_in.finish(db, user, "enrolled")
            then = session["pending"]["next"]
            _signed_in(user, then)
            # Shown in this answer only: never stored in clear, never in a cookie.
            return render_template("console/recovery_codes.html", codes=codes, then=then)
        form.code.errors = [WRONG_CODE]
    enrolment = two_factor.start_enrolment(db, user, cipher)
    db.commit()
    grouped = " ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4))
    return render_template(
        "console/login_enrol.html", form=form, enrolment=enrolment, secret=grouped
    )


@allowed(Action.USE_OWN_ACCOUNT)
def logout() -> Response:
    """Signing out ends every session of the account: a copied cookie is worthless after it."""
    db = get_session()
    user = current_user.record
    user.session_version += 1
    availability_pages.signed_out(user.id)  # signing out: away, callers told at once
    audit(db, user, "sign_out", "user", user.id)
    db.commit()
    end_session()
    flash("You are signed out.", "info")
    return redirect(url_for("console.login"))
