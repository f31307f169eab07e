"""A user's own account: password, phone, recovery codes (signing in: sign_in.py)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from handler_console.access import Staff, allowed, current_user_may
from handler_console.forms import CodeForm, PasswordChangeForm, PhoneForm
from ivr.core.audit import audit
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.core.runtime import get_core
from ivr.staff import two_factor
from ivr.staff.accounts import AccountError, normalise_phone, set_password, verify_password


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/account", view_func=account, methods=["GET"])
    bp.add_url_rule("/account/password", view_func=change_password, methods=["POST"])
    bp.add_url_rule("/account/phone", view_func=change_phone, methods=["POST"])
    bp.add_url_rule("/account/recovery-codes", view_func=replace_recovery_codes, methods=["POST"])
    bp.add_url_rule("/", view_func=home, methods=["GET"])


@allowed(Action.USE_OWN_ACCOUNT)
def home() -> Response:
    # Each role's first page: the queue for those who take calls, else the accounts.
    if not current_user_may(Action.TAKE_CALLS) and current_user_may(Action.MANAGE_USERS):
        return redirect(url_for("console.users"))
    return redirect(url_for("console.queue"))


def _page(**forms: object) -> str:
    user = current_user.record
    return render_template(
        "console/account.html",
        **{
            "password_form": PasswordChangeForm(),
            "phone_form": PhoneForm(phone=user.phone_e164 or ""),
            "code_form": CodeForm(),
            "enrolled": two_factor.is_enrolled(user),
            "codes_left": two_factor.recovery_codes_left(get_session(), user),
            **forms,
        },
    )


@allowed(Action.USE_OWN_ACCOUNT)
def account() -> str:
    return _page()


@allowed(Action.USE_OWN_ACCOUNT)
def replace_recovery_codes() -> str:
    """New recovery codes (the old ones stop working), for a current authenticator code."""
    form = CodeForm()
    db = get_session()
    user = current_user.record
    if form.validate_on_submit():
        code = (form.code.data or "").strip()
        if code.isdigit() and two_factor.check_code(db, user, code, get_core().cipher):
            codes = two_factor.new_recovery_codes(db, user)
            db.commit()
            return render_template(
                "console/recovery_codes.html", codes=codes, then=url_for("console.account")
            )
        form.code.errors = ["That is not a current code from your authenticator app."]
    return _page(code_form=form)


@allowed(Action.USE_OWN_ACCOUNT)
def change_password() -> Response | str:
    form = PasswordChangeForm()
    db = get_session()
    user = current_user.record
    if form.validate_on_submit():
        if not verify_password(user.password_hash, form.current.data or ""):
            form.current.errors = ["That is not your current password."]
        else:
            set_password(db, user, form.new.data or "")
            user.must_change_password = False
            db.commit()
            # This session carries on with the new version; every other one has ended.
            login_user(Staff(user))
            flash("Password changed. Your other sessions have ended.", "info")
            return redirect(url_for("console.account"))
    return _page(password_form=form)


@allowed(Action.USE_OWN_ACCOUNT)
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
    return _page(phone_form=form)
