"""Signing in and out, and a user's own account (password, phone)."""

from __future__ import annotations

import secrets
import time

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from handler_console import availability_pages
from handler_console.access import Staff, end_session, roles
from handler_console.forms import PasswordChangeForm, PhoneForm, SignInForm
from ivr.core.audit import audit
from ivr.core.db import get_session
from ivr.core.runtime import get_core
from ivr.models.staff import ROLES
from ivr.staff.accounts import AccountError, normalise_phone, set_password, sign_in, verify_password


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/login", view_func=login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", view_func=logout, methods=["POST"])
    bp.add_url_rule("/account", view_func=account, methods=["GET"])
    bp.add_url_rule("/account/password", view_func=change_password, methods=["POST"])
    bp.add_url_rule("/account/phone", view_func=change_phone, methods=["POST"])
    bp.add_url_rule("/", view_func=home, methods=["GET"])


@roles(*ROLES)
def home() -> Response:
    if current_user.role == "admin":
        return redirect(url_for("console.users"))
    return redirect(url_for("console.queue"))


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: never another site (open redirect)."""
    if target and target.startswith("/console/") and "//" not in target and "\\" not in target:
        return target
    return url_for("console.home")


def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("console.home"))
    form = SignInForm()
    if form.validate_on_submit():
        settings = get_core().settings
        db = get_session()
        attempt = sign_in(
            db,
            form.username.data or "",
            form.password.data or "",
            max_failures=settings.login_max_failures,
            lock_minutes=settings.login_lock_minutes,
        )
        db.commit()
        if attempt.result == "ok" and attempt.user is not None:
            # A new session (new cookie, new nonce): one fixed before sign-in is worthless.
            session.clear()
            login_user(Staff(attempt.user))
            session["seen"] = time.time()
            session["nonce"] = secrets.token_urlsafe(16)
            return redirect(_safe_next(request.args.get("next")))
        # Slow down guessing: each failure in a row waits a little longer.
        time.sleep(settings.login_failure_delay_ms / 1000 * min(attempt.failures_in_a_row, 5))
        if attempt.result == "locked":
            flash(
                "This account is locked for a while after too many failed sign-ins. "
                "Ask an admin if you need it sooner.",
                "error",
            )
        else:
            flash("Wrong username or password, or the account is disabled.", "error")
    return render_template("console/login.html", form=form)


@roles(*ROLES)
def logout() -> Response:
    """Signing out ends every session of the account: a copied cookie is worthless after it."""
    db = get_session()
    user = current_user.record
    user.session_version += 1
    availability_pages.signed_out(user.id)
    audit(db, user, "sign_out", "user", user.id)
    db.commit()
    end_session()
    flash("You are signed out.", "info")
    return redirect(url_for("console.login"))


@roles(*ROLES)
def account() -> str:
    return render_template(
        "console/account.html",
        password_form=PasswordChangeForm(),
        phone_form=PhoneForm(phone=current_user.record.phone_e164 or ""),
    )


@roles(*ROLES)
def change_password() -> Response | str:
    form = PasswordChangeForm()
    db = get_session()
    user = current_user.record
    if form.validate_on_submit():
        if not verify_password(user.password_hash, form.current.data or ""):
            form.current.errors = ["That is not your current password."]
        else:
            set_password(db, user, form.new.data or "")
            db.commit()
            # This session carries on with the new version; every other one has ended.
            login_user(Staff(user))
            flash("Password changed. Your other sessions have ended.", "info")
            return redirect(url_for("console.account"))
    phone_form = PhoneForm(phone=user.phone_e164 or "")
    return render_template("console/account.html", password_form=form, phone_form=phone_form)


@roles(*ROLES)
def change_phone() -> Response | str:
    form = PhoneForm()
    db = get_session()
    user = current_user.record
    if form.validate_on_submit():
        try:
            user.phone_e164 = normalise_phone(form.phone.data or "")
        except AccountError:
            form.phone.errors = ["That is not a phone number. Try 07912 345678 or +44 …"]
        else:
            audit(db, user, "update", "user", user.id, detail={"changed": "phone"})
            db.commit()
            flash("Phone number saved.", "info")
            return redirect(url_for("console.account"))
    return render_template(
        "console/account.html", password_form=PasswordChangeForm(), phone_form=form
    )
