"""Two-step sign-in for every member of staff: a password alone opens nothing; a code from
an authenticator app (TOTP) works once; enrolment shows a QR code drawn by the server;
recovery codes are hashed and single-use; an admin resets a user's second step, audited."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.core.runtime import get_core
from ivr.core.settings import SettingsError, load_settings
from ivr.models import AuditEntry, RecoveryCode, User
from ivr.staff import two_factor
from tests.console_helpers import (
    PASSWORD,
    add_user,
    code_for,
    csrf_token,
    get_user,
    sign_in,
)


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "login_failure_delay_ms": 0}


def _password_step(client, name, password=PASSWORD):
    return client.post(
        "/console/login",
        data={"username": name, "password": password, "csrf_token": csrf_token(client)},
    )


def _code_step(client, code, step="/console/login/code"):
    return client.post(step, data={"code": code, "csrf_token": csrf_token(client, step)})


def _secret(app, user_id):
    return two_factor.secret_of(get_user(app, user_id), get_core(app).cipher)


def _actions(app, action):
    with Session(get_engine(app)) as session:
        query = select(AuditEntry).where(AuditEntry.action == action)
        return [(e.user_id, e.record_id, e.reason) for e in session.scalars(query)]


def test_a_password_alone_opens_nothing(app, client):
    add_user(app, "hana", "handler")
    response = _password_step(client, "hana")
    assert response.status_code == 302 and response.location.endswith("/console/login/code")
    assert client.get("/console/queue").status_code == 302
    assert client.get("/console/reports/mine").status_code == 302
    response = _code_step(client, code_for(app, "hana"))
    assert response.status_code == 302 and response.location.endswith("/console/")
    assert client.get("/console/queue").status_code == 200
    assert _actions(app, "sign_in")[-1][0] is not None


def test_a_code_works_once_and_a_wrong_code_is_refused(app, client):
    user_id = add_user(app, "hana", "handler")
    secret = _secret(app, user_id)
    code = pyotp.TOTP(secret).now()
    _password_step(client, "hana")
    wrong = "000000" if code != "000000" else "111111"
    page = _code_step(client, wrong).get_data(as_text=True)
    assert "That code is not right" in page
    assert _code_step(client, code).status_code == 302
    # The same code again, from another browser that knows the password: refused.
    thief = app.test_client()
    _password_step(thief, "hana")
    assert "That code is not right" in _code_step(thief, code).get_data(as_text=True)
    assert thief.get("/console/queue").status_code == 302


def test_the_code_step_needs_the_password_step_first_and_expires(app, client, monkeypatch):
    add_user(app, "hana", "handler")
    token = csrf_token(client)
    response = client.post(
        "/console/login/code", data={"code": code_for(app, "hana"), "csrf_token": token}
    )
    assert response.status_code == 302 and response.location.endswith("/console/login")
    _password_step(client, "hana")
    token = csrf_token(client, "/console/login/code")
    later = time.time() + 6 * 60
    monkeypatch.setattr("handler_console.sign_in.time.time", lambda: later)
    response = client.post(
        "/console/login/code", data={"code": code_for(app, "hana"), "csrf_token": token}
    )
    assert response.status_code == 302 and response.location.endswith("/console/login")
    assert client.get("/console/queue").status_code == 302


def test_wrong_codes_count_towards_the_lock(app, client):
    user_id = add_user(app, "hana", "handler")
    _password_step(client, "hana")
    for _ in range(5):
        _code_step(client, "999999" if code_for(app, "hana") != "999999" else "888888")
    assert get_user(app, user_id).locked_until is not None
    assert [e[1] for e in _actions(app, "lock")] == [str(user_id)]
    # Locked: even the right code is refused now.
    assert _code_step(client, code_for(app, "hana")).status_code == 200
    assert client.get("/console/queue").status_code == 302


def test_enrolment_shows_a_qr_code_drawn_here_then_recovery_codes_once(app, client):
    user_id = add_user(app, "newbie", "handler", enrolled=False)
    response = _password_step(client, "newbie")
    assert response.location.endswith("/console/login/enrol")
    page = client.get("/console/login/enrol").get_data(as_text=True)
    assert "<svg" in page and "<img" not in page
    assert not re.search(r"""(src|href)=["']https?:""", page)  # nothing from another site
    shown = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page)
    assert shown is not None
    secret = shown.group(1).replace(" ", "")
    assert secret == _secret(app, user_id)
    # The secret is kept encrypted: not in the database in clear.
    assert secret.encode() not in (get_user(app, user_id).totp_secret or b"")

    response = _code_step(client, pyotp.TOTP(secret).now(), "/console/login/enrol")
    page = response.get_data(as_text=True)
    codes = re.findall(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>", page)
    assert response.status_code == 200 and len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/console/queue").status_code == 200
    with Session(get_engine(app)) as session:
        stored = session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id))
        hashes = [row.code_hash for row in stored]
    assert len(hashes) == 10 and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(code.replace("-", "")[4:] in h for code in codes for h in hashes)
    assert _actions(app, "enrol_two_factor") == [(user_id, str(user_id), None)]
    assert get_user(app, user_id).two_factor_at is not None


def test_a_recovery_code_signs_in_once(app, client):
    user_id = add_user(app, "hana", "handler")
    with Session(get_engine(app)) as session:
        user = session.get(User, user_id)
        codes = two_factor.new_recovery_codes(session, user)
        session.commit()
    _password_step(client, "hana")
    assert _code_step(client, codes[3].upper().replace("-", " ")).status_code == 302
    again = app.test_client()
    _password_step(again, "hana")
    assert "That code is not right" in _code_step(again, codes[3]).get_data(as_text=True)
    assert _code_step(again, codes[4]).status_code == 302
    assert len(_actions(app, "use_recovery_code")) == 2
    with Session(get_engine(app)) as session:
        left = session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id))
        assert len(left.all()) == 8


def test_new_recovery_codes_need_a_current_code(app, client):
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    token = csrf_token(client, "/console/account")
    page = client.post(
        "/console/account/recovery-codes", data={"code": "123", "csrf_token": token}
    ).get_data(as_text=True)
    assert "not a current code" in page
    page = client.post(
        "/console/account/recovery-codes",
        data={"code": code_for(app, "hana"), "csrf_token": token},
    ).get_data(as_text=True)
    assert page.count("<code>") == 10 and "shown only this once" in page


def test_an_admin_resets_a_second_step_audited_but_never_their_own(app, client):
    admin_id = add_user(app, "root", "admin")
    user_id = add_user(app, "hana", "handler")
    hana = app.test_client()
    sign_in(hana, "hana")
    sign_in(client, "root")
    token = csrf_token(client, f"/console/users/{user_id}")
    page = client.post(
        f"/console/users/{user_id}/two-factor", data={"csrf_token": token, "reason": ""}
    ).get_data(as_text=True)
    assert "Say why" in page and _secret(app, user_id) is not None
    response = client.post(
        f"/console/users/{user_id}/two-factor",
        data={"csrf_token": token, "reason": "lost her phone and codes"},
    )
    assert response.status_code == 302
    assert _secret(app, user_id) is None
    assert _actions(app, "reset_two_factor") == [
        (admin_id, str(user_id), "lost her phone and codes")
    ]
    assert hana.get("/console/queue").status_code == 302  # her sessions ended
    # She sets it up again at her next sign-in.
    assert _password_step(app.test_client(), "hana").location.endswith("/console/login/enrol")
    page = client.post(
        f"/console/users/{admin_id}/two-factor", data={"csrf_token": token, "reason": "me"}
    ).get_data(as_text=True)
    assert "cannot reset your own" in page and _secret(app, admin_id) is not None
    # A handler cannot reset anyone's.
    other = app.test_client()
    add_user(app, "ivo", "handler")
    sign_in(other, "ivo")
    response = other.post(
        f"/console/users/{admin_id}/two-factor",
        data={"csrf_token": csrf_token(other, "/console/queue"), "reason": "x"},
    )
    assert response.status_code == 403


def test_two_factor_is_off_only_where_development_says_so():
    environ = {
        "TWILIO_AUTH_TOKEN": "t",
        "IVR_SECRET_KEY": "k" * 40,
        "IVR_CONTACT_KEY": "A" * 43 + "=",
    }
    assert load_settings(environ=environ).two_factor is True
    with pytest.raises(SettingsError, match=r"two_factor \(IVR_CONSOLE_TWO_FACTOR\)"):
        load_settings(environ={**environ, "IVR_CONSOLE_TWO_FACTOR": "false"})
    development = {**environ, "IVR_WEB_ENVIRONMENT": "development"}
    assert load_settings(environ=development).two_factor is True
    settings = load_settings(environ={**development, "IVR_CONSOLE_TWO_FACTOR": "false"})
    assert settings.two_factor is False


def test_without_two_factor_in_development_a_password_signs_in(settings_overrides):
    from ivr import create_app

    app = create_app({**settings_overrides, "environment": "development", "two_factor": False})
    try:
        add_user(app, "hana", "handler", enrolled=False)
        client = app.test_client()
        response = _password_step(client, "hana")
        assert response.status_code == 302 and response.location.endswith("/console/")
        assert client.get("/console/queue").status_code == 200
    finally:
        get_engine(app).dispose()


def test_the_cli_resets_a_second_step_for_the_last_admin(app, database_url, monkeypatch):
    from click.testing import CliRunner

    from ivr.cli import cli

    admin_id = add_user(app, "root", "admin")
    settings = get_core(app).settings
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("IVR_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("IVR_CONTACT_KEY", settings.contact_key)
    result = CliRunner().invoke(cli, ["user", "reset-two-factor", "root", "--reason", "lost"])
    assert result.exit_code == 0, result.output
    assert _secret(app, admin_id) is None
    assert _actions(app, "reset_two_factor") == [
        (None, str(admin_id), "ivr user reset-two-factor: lost")
    ]
    result = CliRunner().invoke(cli, ["user", "reset-two-factor", "nobody", "--reason", "x"])
    assert result.exit_code == 1 and "no user called 'nobody'" in result.output
