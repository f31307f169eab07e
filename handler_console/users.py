"""Admins manage staff accounts: add, change role or phone, reset a password or the
second sign-in step, disable. Nobody changes their own role; every change is audited."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from handler_console.access import allowed
from handler_console.forms import NewUserForm, TwoFactorResetForm, UserEditForm
from ivr.core.audit import audit
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.models import User, utcnow
from ivr.staff import two_factor
from ivr.staff.accounts import (
    AccountError,
    create_user,
    generate_password,
    normalise_phone,
    set_active,
    set_password,
)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/users", view_func=users, methods=["GET", "POST"])
    bp.add_url_rule("/users/<int:user_id>", view_func=user_edit, methods=["GET", "POST"])
    bp.add_url_rule("/users/<int:user_id>/two-factor", view_func=reset_two_factor, methods=["POST"])


@allowed(Action.MANAGE_USERS)
def users() -> Response | str:
    db = get_session()
    form = NewUserForm()
    shown_password = None
    if form.validate_on_submit():
        password = generate_password() if form.generate.data else (form.password.data or "")
        try:
            created = create_user(
                db,
                form.username.data or "",
                form.role.data or "",
                password,
                form.phone.data or "",
                by=current_user.record,
            )
        except AccountError as exc:
            _place_error(form, exc)
        else:
            # The user chooses their own at first sign-in: an admin knows this one.
            created.must_change_password = True
            db.commit()
            if not form.generate.data:
                flash(f"Added {created.username}.", "info")
                return redirect(url_for("console.users"))
            # Shown on this page once, never put in the (signed, not secret) session cookie.
            shown_password = (created.username, password)
            form = NewUserForm(formdata=None)
    everyone = db.scalars(select(User).order_by(User.active.desc(), User.username)).all()
    now = utcnow()
    locked = {u.id for u in everyone if (u.locked_until or now) > now}
    return render_template(
        "console/users.html",
        users=everyone,
        form=form,
        locked=locked,
        shown_password=shown_password,
    )


def _place_error(form: NewUserForm, exc: AccountError) -> None:
    """Each refusal under the field it is about: a bad phone number under Phone."""
    words = str(exc)
    message = words[0].upper() + words[1:] + "."
    if "phone" in words:
        form.phone.errors = [message]
    elif "password" in words:
        form.password.errors = [message]
    elif "role" in words:
        form.role.errors = [message]
    else:
        form.username.errors = [message]


@allowed(Action.MANAGE_USERS)
def user_edit(user_id: int) -> Response | str:
    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    # Posted values win over these (Flask-WTF reads the request's form first).
    form = UserEditForm(obj=user, phone=user.phone_e164 or "")
    if form.validate_on_submit():
        new_password = generate_password() if form.generate.data else form.password.data
        try:
            phone = normalise_phone(form.phone.data or "")
            if new_password:
                set_password(db, user, new_password, by=current_user.record)
                user.must_change_password = True
        except AccountError as exc:
            field = form.password if "password" in str(exc) else form.phone
            field.errors = [str(exc)[0].upper() + str(exc)[1:] + "."]
        else:
            yourself = user.id == current_user.record.id
            if yourself and not form.active.data:
                form.active.errors = ["You cannot disable your own account."]
            elif yourself and form.role.data != user.role:
                # Nobody widens (or narrows) their own access: another admin must.
                form.role.errors = ["You cannot change your own role: ask another admin."]
            else:
                changed: dict[str, object] = {}
                if user.role != form.role.data:
                    audit(
                        db,
                        current_user.record,
                        "change_role",
                        "user",
                        user.id,
                        detail={"from": user.role, "to": form.role.data},
                    )
                    user.role = form.role.data or user.role
                    user.session_version += 1  # a new role takes effect at the next sign-in
                if user.phone_e164 != phone:
                    changed["phone"] = True
                    user.phone_e164 = phone
                if changed:
                    audit(db, current_user.record, "update", "user", user.id, detail=changed)
                if user.active != form.active.data:
                    set_active(db, user, bool(form.active.data), by=current_user.record)
                db.commit()
                if form.generate.data and new_password:
                    return _edit_page(
                        user,
                        UserEditForm(formdata=None, obj=user, phone=user.phone_e164 or ""),
                        TwoFactorResetForm(formdata=None),
                        shown_password=(user.username, new_password),
                    )
                flash(f"Saved {user.username}.", "info")
                return redirect(url_for("console.users"))
    return _edit_page(user, form, TwoFactorResetForm())


def _edit_page(
    user: User,
    form: UserEditForm,
    reset_form: TwoFactorResetForm,
    shown_password: tuple[str, str] | None = None,
) -> str:
    return render_template(
        "console/user_edit.html",
        user=user,
        form=form,
        shown_password=shown_password,
        reset_form=reset_form,
        enrolled=two_factor.is_enrolled(user),
        yourself=user.id == current_user.record.id,
    )


@allowed(Action.MANAGE_USERS)
def reset_two_factor(user_id: int) -> Response | str:
    """For a user who lost their phone and their recovery codes: they set up again at
    their next sign-in. Never one's own (another admin, or `ivr user reset-two-factor`)."""
    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    form = TwoFactorResetForm()
    if user.id == current_user.record.id:
        flash("You cannot reset your own second step: ask another admin.", "error")
    elif form.validate_on_submit():
        two_factor.reset(db, user, current_user.record, reason=form.reason.data)
        db.commit()
        flash(
            f"Reset {user.username}'s two-step sign-in: they set it up again when they next "
            "sign in. Their open sessions have ended.",
            "info",
        )
        return redirect(url_for("console.user_edit", user_id=user.id))
    return _edit_page(user, UserEditForm(obj=user, phone=user.phone_e164 or ""), form)
