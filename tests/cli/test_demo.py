"""The five-minute demo: `ivr demo` (development only, accounts made once, passwords
printed once), the development instance's settings, and `ivr demo-force`, the local
test force that checks signatures the way a force would."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.cli import cli
from ivr.cli.demo import local_routes
from ivr.cli.demo_force import make_server
from ivr.core.db import get_engine
from ivr.core.forces import ForceCatalogue
from ivr.core.routing import Routes
from ivr.core.settings import PROJECT_ROOT, load_settings
from ivr.models import User
from ivr.records.sending import DeliveryFailed, send_https
from tests.console_helpers import sign_in, signed_in

PASSWORD = re.compile(r"^\s+(demo-\w+)\s+\w+\s+password: (\S+)$", re.MULTILINE)


def _env(monkeypatch, database_url: str, tmp_path: Path, environment: str) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "t" * 32)
    monkeypatch.setenv("IVR_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("IVR_CONTACT_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("IVR_WEB_ENVIRONMENT", environment)
    monkeypatch.setenv("IVR_INSTANCE_DIR", str(tmp_path / "instance"))  # no local.toml


def _users(app) -> int:
    with Session(get_engine(app)) as session:
        return session.scalar(select(func.count(User.id))) or 0


@pytest.fixture
def settings_overrides(settings_overrides):  # type: ignore[no-untyped-def]
    # A failed sign-in holds the account back a moment (ivr/staff/signing_in.py); the
    # demo test signs in with the old password, then at once with the new one.
    return {**settings_overrides, "login_failure_delay_ms": 0}


def test_demo_refuses_outside_development(app, database_url, tmp_path, monkeypatch):
    _env(monkeypatch, database_url, tmp_path, "production")
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 1
    assert "runs only when environment (IVR_WEB_ENVIRONMENT) is development" in result.output
    assert len(result.output.strip().splitlines()) == 1
    # `make run` asks with --if-development: nothing done, nothing failed.
    result = CliRunner().invoke(cli, ["demo", "--if-development"])
    assert result.exit_code == 0 and result.output == ""
    assert _users(app) == 0


def test_demo_makes_the_accounts_once(app, database_url, tmp_path, monkeypatch):
    _env(monkeypatch, database_url, tmp_path, "development")
    runner = CliRunner()
    first = runner.invoke(cli, ["demo"])
    assert first.exit_code == 0, first.output
    passwords = dict(PASSWORD.findall(first.output))
    assert set(passwords) == {"demo-handler", "demo-supervisor", "demo-admin"}
    for name, password in passwords.items():
        # Production settings here: each sets up two-step sign-in at its first sign-in.
        client = app.test_client()
        sign_in(client, name, password)
        assert signed_in(client), name
    # No local routes in these settings: it prints the tables that would add them.
    assert '[routing.forces.metropolitan]\nurl = "http://127.0.0.1:8099/metropolitan"' in (
        first.output
    )

    again = runner.invoke(cli, ["demo"])
    assert again.exit_code == 0, again.output
    assert PASSWORD.findall(again.output) == []
    assert "exist" in again.output and _users(app) == 3

    reset = runner.invoke(cli, ["demo", "--reset"])
    new = dict(PASSWORD.findall(reset.output))
    assert set(new) == set(passwords) and _users(app) == 3
    assert sign_in(app.test_client(), "demo-handler", passwords["demo-handler"]).status_code == 200
    client = app.test_client()
    assert sign_in(client, "demo-handler", new["demo-handler"]).status_code == 302
    assert signed_in(client)
    with Session(get_engine(app)) as session:
        handler = session.scalar(select(User).where(User.username == "demo-handler"))
        assert handler is not None and handler.role == "handler" and handler.phone_e164


def test_a_development_instance_routes_every_force_to_the_local_test_force(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "TWILIO_AUTH_TOKEN", "IVR_SECRET_KEY", "IVR_CONTACT_KEY",
                 "IVR_WEB_ENVIRONMENT", "IVR_CONSOLE_CALL_GATEWAY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IVR_INSTANCE_DIR", str(tmp_path / "instance"))
    result = CliRunner().invoke(cli, ["init-instance"])
    assert result.exit_code == 0, result.output
    settings = load_settings()
    assert settings.is_development and settings.call_gateway == "fake"
    assert settings.twilio_caller_id
    forces = ForceCatalogue.load(PROJECT_ROOT / "config" / "forces.toml")
    local = local_routes(Routes.load(settings, forces, environ={}))
    assert len(local) == len(forces.forces) == 48
    assert {r.target.rsplit("/", 1)[0] for r in local} == {"http://127.0.0.1:8099"}


def test_make_run_port_moves_the_local_test_force_with_it(tmp_path, monkeypatch):
    """`make run PORT=9000` makes an instance whose test force listens on 9099."""
    for name in ("DATABASE_URL", "TWILIO_AUTH_TOKEN", "IVR_SECRET_KEY", "IVR_CONTACT_KEY",
                 "IVR_WEB_ENVIRONMENT", "IVR_CONSOLE_CALL_GATEWAY"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IVR_INSTANCE_DIR", str(tmp_path / "instance"))
    result = CliRunner().invoke(cli, ["init-instance", "--demo-force-port", "9099"])
    assert result.exit_code == 0, result.output
    forces = ForceCatalogue.load(PROJECT_ROOT / "config" / "forces.toml")
    local = local_routes(Routes.load(load_settings(), forces, environ={}))
    assert {r.target.rsplit("/", 1)[0] for r in local} == {"http://127.0.0.1:9099"}
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "--demo-force-port $$(( $(PORT) + 99 ))" in makefile
    assert "ivr serve --bind 127.0.0.1:$(PORT)" in makefile


@pytest.fixture
def test_force():
    forces = ForceCatalogue.load(PROJECT_ROOT / "config" / "forces.toml")
    settings = load_settings(environ={
        "TWILIO_AUTH_TOKEN": "t" * 32, "IVR_SECRET_KEY": "s" * 40,
        "IVR_CONTACT_KEY": Fernet.generate_key().decode(), "IVR_INSTANCE_DIR": "/nonexistent",
    })  # fmt: skip
    routes = Routes.load(settings, forces, environ={
        "IVR_ROUTE_KENT_URL": "http://127.0.0.1:1/kent", "IVR_ROUTE_KENT_SECRET": "k" * 32,
    })  # fmt: skip
    said: list[str] = []
    server = make_server(routes, 0, said.append)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    route = dataclasses.replace(
        routes.routes["kent"], target=f"http://127.0.0.1:{server.server_port}/kent"
    )
    try:
        yield route, said
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_test_force_checks_the_signature_and_prints_each_report_once(test_force):
    route, said = test_force
    body = json.dumps({"reference": "ABCD-EFGH", "reporter": {"anonymous": True}}).encode()
    send_https(route, "key-1", body, timeout=5)
    assert any("report ABCD-EFGH for Kent" in line and "signature good" in line for line in said)
    assert any('"anonymous": true' in line for line in said)
    printed = len(said)
    send_https(route, "key-1", body, timeout=5)  # a retry: acknowledged, not printed again
    assert len(said) == printed + 1 and "again" in said[-1]
    forged = dataclasses.replace(route, secret="x" * 32)
    with pytest.raises(DeliveryFailed, match="HTTP 401"):
        send_https(forged, "key-2", body, timeout=5)
    assert "signature is wrong" in said[-1]
    elsewhere = dataclasses.replace(route, target=route.target.replace("/kent", "/dorset"))
    with pytest.raises(DeliveryFailed, match="HTTP 404"):
        send_https(elsewhere, "key-3", body, timeout=5)


def test_demo_force_without_local_routes_says_what_to_do(tmp_path, monkeypatch):
    _env(monkeypatch, "sqlite:///" + str(tmp_path / "x.db"), tmp_path, "development")
    result = CliRunner().invoke(cli, ["demo-force"])
    assert result.exit_code == 1
    assert "`ivr demo` prints the settings" in result.output
