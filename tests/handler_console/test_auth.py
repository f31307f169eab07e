"""Staff sign-in: argon2id hashes, a new session at sign-in, idle timeout, sign-out,
password changes ending other sessions, lock-out after failures, and the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.cli import cli
from ivr.core.db import get_engine
from ivr.models import AuditEntry, User
from ivr.staff.accounts import generate_password
from tests.console_helpers import PASSWORD, add_user, csrf_token, get_user, sign_in


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "login_failure_delay_ms": 0, "session_idle_minutes": 30}


def test_passwords_are_stored_as_argon2id(app):
    user_id = add_user(app, "hana", "handler")
    stored = get_user(app, user_id).password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_sign_in_starts_a_new_session(app, client):
    add_user(app, "hana", "handler")
    client.get("/console/login")
    before = client.get_cookie("session")
    response = sign_in(client, "hana")
    assert response.status_code == 302 and response.location.endswith("/console/")
    after = client.get_cookie("session")
    assert after is not None and (before is None or before.value != after.value)
    assert client.get("/console/queue").status_code == 200


def test_wrong_password_is_refused_in_words(app, client):
    add_user(app, "hana", "handler")
    response = sign_in(client, "hana", "not the password")
    assert response.status_code == 200
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert client.get("/console/queue").status_code == 302


def test_five_failures_lock_the_account_and_the_lock_is_audited(app, client):
    user_id = add_user(app, "hana", "handler")
    for _ in range(5):
        page = sign_in(client, "hana", "guess guess guess").get_data(as_text=True)
    assert "locked" in page
    # Even the right password is refused while locked.
    assert sign_in(client, "hana").status_code == 200
    assert client.get("/console/queue").status_code == 302
    with Session(get_engine(app)) as session:
        locks = session.scalars(select(AuditEntry).where(AuditEntry.action == "lock")).all()
        assert [e.record_id for e in locks] == [str(user_id)]
    assert get_user(app, user_id).locked_until is not None


def test_sign_out_ends_the_session_even_for_a_copied_cookie(app, client):
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    copied = client.get_cookie("session").value
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/queue")})
    assert client.get("/console/queue").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied, domain="localhost")
    assert thief.get("/console/queue").status_code == 302


def test_a_password_change_ends_the_other_sessions(app, client):
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    elsewhere = app.test_client()
    sign_in(elsewhere, "hana")
    assert elsewhere.get("/console/queue").status_code == 200
    new = "a much better passphrase"
    response = client.post(
        "/console/account/password",
        data={
            "csrf_token": csrf_token(client, "/console/account"),
            "current": PASSWORD,
            "new": new,
            "again": new,
        },
    )
    assert response.status_code == 302
    assert client.get("/console/queue").status_code == 200  # this session goes on
    assert elsewhere.get("/console/queue").status_code == 302  # the other one has ended
    assert sign_in(app.test_client(), "hana", new).status_code == 302


def test_a_short_new_password_is_refused_in_words(app, client):
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    response = client.post(
        "/console/account/password",
        data={
            "csrf_token": csrf_token(client, "/console/account"),
            "current": PASSWORD,
            "new": "short",
            "again": "short",
        },
    )
    assert "at least 12 characters" in response.get_data(as_text=True)


def test_an_idle_session_ends(app, client, monkeypatch):
    import time as real_time

    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    assert client.get("/console/queue").status_code == 200
    later = real_time.time() + 31 * 60
    monkeypatch.setattr("handler_console.access.time.time", lambda: later)
    response = client.get("/console/queue")
    assert response.status_code == 302 and "/console/login" in response.location
    assert client.get("/console/queue").status_code == 302


def test_the_queue_refresh_does_not_keep_a_session_alive(app, client, monkeypatch):
    import time as real_time

    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    start = real_time.time()
    for minutes in (10, 20, 29):
        monkeypatch.setattr("handler_console.access.time.time", lambda m=minutes: start + m * 60)
        assert client.get("/console/queue/rows").status_code == 200
    monkeypatch.setattr("handler_console.access.time.time", lambda: start + 31 * 60)
    assert client.get("/console/queue/rows").status_code == 302


def test_a_disabled_user_is_signed_out_and_cannot_sign_in(app, client, database_url, monkeypatch):
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    monkeypatch.setenv("DATABASE_URL", database_url)
    _settings_env(monkeypatch, app)
    result = CliRunner().invoke(cli, ["user", "disable", "hana"])
    assert result.exit_code == 0, result.output
    assert client.get("/console/queue").status_code == 302
    assert sign_in(client, "hana").status_code == 200


def test_admins_manage_users_in_the_console(app, client):
    add_user(app, "root", "admin")
    sign_in(client, "root")
    token = csrf_token(client, "/console/users")
    response = client.post(
        "/console/users",
        data={
            "csrf_token": token,
            "username": "newbie",
            "role": "handler",
            "phone": "0113 496 0000",
            "password": "twelve chars!",
        },
    )
    assert response.status_code == 302
    with Session(get_engine(app)) as session:
        user = session.scalars(select(User).where(User.username == "newbie")).one()
        assert user.phone_e164 == "+441134960000"
    page = client.post(
        "/console/users",
        data={"csrf_token": token, "username": "x", "role": "handler", "password": "short"},
    ).get_data(as_text=True)
    assert "at least 12 characters" in page
    response = client.post(
        f"/console/users/{user.id}",
        data={"csrf_token": token, "role": "supervisor", "phone": "not a phone"},
    )
    assert "is not a valid phone number" in response.get_data(as_text=True)


def _enrols(app, name, password):
    """A new account's first sign-in sets up its second step and signs in."""
    client = app.test_client()
    page = sign_in(client, name, password).get_data(as_text=True)
    return "Your recovery codes" in page and client.get("/console/queue").status_code == 200


def _settings_env(monkeypatch, app):
    settings = app.extensions["ivr.core"].settings
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("IVR_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("IVR_CONTACT_KEY", settings.contact_key)


def test_cli_user_add_reads_stdin_generates_and_refuses_short(app, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    _settings_env(monkeypatch, app)
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["user", "add", "hana", "--role", "handler", "--phone", "07912 345678", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert _enrols(app, "hana", "a long enough password")

    result = runner.invoke(cli, ["user", "add", "sue", "--role", "supervisor", "--generate"])
    assert result.exit_code == 0, result.output
    password = result.output.split("password: ")[1].strip()
    assert len(password) >= 12
    assert _enrols(app, "sue", password)

    result = runner.invoke(
        cli, ["user", "add", "tim", "--role", "handler", "--password-stdin"], input="short\n"
    )
    assert result.exit_code == 1
    assert result.output.strip() == "Error: the password must be at least 12 characters long"

    result = runner.invoke(
        cli, ["user", "add", "hana", "--role", "handler", "--password-stdin"], input="x" * 20
    )
    assert result.exit_code == 1 and "already exists" in result.output
    result = runner.invoke(cli, ["user", "disable", "nobody"])
    assert result.exit_code == 1 and "no user called 'nobody'" in result.output


def test_generated_passwords_are_long_and_different():
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50 and all(len(p) >= 12 for p in passwords)


def test_cli_user_add_asks_for_the_password_twice(app, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    _settings_env(monkeypatch, app)
    result = CliRunner().invoke(
        cli,
        ["user", "add", "hana", "--role", "handler"],
        input="typed at the prompt\ntyped at the prompt\n",
    )
    assert result.exit_code == 0, result.output
    assert _enrols(app, "hana", "typed at the prompt")


def test_console_settings_come_from_the_environment():
    from ivr.core.settings import SettingsError, load_settings

    environ = {
        "TWILIO_AUTH_TOKEN": "t",
        "IVR_SECRET_KEY": "k" * 40,
        "IVR_CONTACT_KEY": "A" * 43 + "=",
        "IVR_CONSOLE_IDLE_MINUTES": "10",
        "IVR_CONSOLE_CALL_GATEWAY": "fake",
    }
    settings = load_settings(environ=environ)
    assert settings.session_idle_minutes == 10 and settings.call_gateway == "fake"
    assert settings.login_max_failures == 5 and settings.login_lock_minutes == 15
    with pytest.raises(SettingsError, match=r"call_gateway \(IVR_CONSOLE_CALL_GATEWAY\)"):
        load_settings(environ={**environ, "IVR_CONSOLE_CALL_GATEWAY": "carrier-pigeon"})
    with pytest.raises(SettingsError, match="session_idle_minutes"):
        load_settings(environ={**environ, "IVR_CONSOLE_IDLE_MINUTES": "0"})
