"""The console's forms (Flask-WTF: each carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length

from handler_console.choices import choices
from ivr.models import StaffRole
from ivr.staff.accounts import MIN_PASSWORD_LENGTH


class SignInForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[DataRequired("Enter your username.")],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password.")],
        render_kw={"autocomplete": "current-password"},
    )


class CodeForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired("Enter the code from your authenticator app."), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"},
    )


class TwoFactorResetForm(FlaskForm):
    reason = StringField(
        "Why (kept in the audit log)",
        validators=[DataRequired("Say why, for the audit log."), Length(max=200)],
    )


def _new_password(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired("Enter a password."),
            Length(
                min=MIN_PASSWORD_LENGTH,
                message=f"A password must be at least {MIN_PASSWORD_LENGTH} characters long.",
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordChangeForm(FlaskForm):
    current = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password.")],
        render_kw={"autocomplete": "current-password"},
    )
    new = _new_password("New password")
    again = PasswordField(
        "New password again",
        validators=[EqualTo("new", message="The two new passwords are not the same.")],
        render_kw={"autocomplete": "new-password"},
    )


class PhoneForm(FlaskForm):
    phone = StringField("Phone you take calls on", validators=[Length(max=40)])


class NewUserForm(FlaskForm):
    username = StringField(
        "Username", validators=[DataRequired("Enter a username."), Length(max=64)]
    )
    role = SelectField("Role", choices=choices((r, r.capitalize()) for r in StaffRole))
    phone = StringField("Phone (handlers)", validators=[Length(max=40)])
    password = PasswordField(
        "Password",
        validators=[Length(max=200)],
        render_kw={"autocomplete": "new-password"},
    )
    generate = BooleanField("Make one up for me (strong, shown once)")


class UserEditForm(FlaskForm):
    role = SelectField("Role", choices=choices((r, r.capitalize()) for r in StaffRole))
    phone = StringField("Phone", validators=[Length(max=40)])
    active = BooleanField("Can sign in")
    password = PasswordField(
        "New password (leave empty to keep)",
        validators=[Length(max=200)],
        render_kw={"autocomplete": "new-password"},
    )
    generate = BooleanField("Make a new one up (strong, shown once)")
