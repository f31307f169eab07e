"""Admins manage staff accounts: add, change role or phone, reset a password, disable."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from handler_console.access import allowed
from handler_console.forms import NewUserForm, UserEditForm
from ivr.core.audit import audit
from ivr.core.db import get_session
from ivr.core.permissions import Action
from ivr.models import User, utcnow
from ivr.staff.accounts import (
    AccountError,
    create_user,
    normalise_phone,
    set_active,
    set_password,
)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/users", view_func=users, methods=["GET", "POST"])
    bp.add_url_rule("/users/<int:user_id>", view_func=user_edit, methods=["GET", "POST"])


@allowed(Action.MANAGE_USERS)
def users() -> Response | str:
    db = get_session()
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            created = create_user(
                db,
                form.username.data or "",
                form.role.data or "",
                form.password.data or "",
                form.phone.data or "",
                by=current_user.record,
            )
        except AccountError as exc:
            form.username.errors = [str(exc)[0].upper() + str(exc)[1:] + "."]
        else:
            db.commit()
            flash(f"Added {created.username}.", "info")
            return redirect(url_for("console.users"))
    everyone = db.scalars(select(User).order_by(User.active.desc(), User.username)).all()
    now = utcnow()
    locked = {u.id for u in everyone if (u.locked_until or now) > now}
    return render_template("console/users.html", users=everyone, form=form, locked=locked)


@allowed(Action.MANAGE_USERS)
def user_edit(user_id: int) -> Response | str:
    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    # Posted values win over these (Flask-WTF reads the request's form first).
    form = UserEditForm(obj=user, phone=user.phone_e164 or "")
    if form.validate_on_submit():
        try:
            phone = normalise_phone(form.phone.data or "")
            if form.password.data:
                set_password(db, user, form.password.data, by=current_user.record)
        except AccountError as exc:
            field = form.password if "password" in str(exc) else form.phone
            field.errors = [str(exc)[0].upper() + str(exc)[1:] + "."]
        else:
            if user.id == current_user.record.id and not form.active.data:
                form.active.errors = ["You cannot disable your own account."]
            else:
                changed = {}
                if user.role != form.role.data:
                    changed["role"] = [user.role, form.role.data]
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
                flash(f"Saved {user.username}.", "info")
                return redirect(url_for("console.users"))
    return render_template("console/user_edit.html", user=user, form=form)
