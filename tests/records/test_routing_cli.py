"""Destinations from the settings and the environment; `ivr deliver`, `ivr purge`, `ivr routes`."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import select

from ivr.cli import cli
from ivr.core.routing import Routes
from ivr.core.settings import SettingsError, load_settings
from ivr.models import Call, CountedDay, FigureDay, Report, utcnow
from ivr.records.review import approve
from tests.records.conftest import SECRET, make_report, make_user, routes_to

BASE_ENV = {
    "TWILIO_AUTH_TOKEN": "t" * 32,
    "IVR_SECRET_KEY": "s" * 40,
    "IVR_CONTACT_KEY": Fernet.generate_key().decode(),
}


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {**BASE_ENV, "DATABASE_URL": database_url, "IVR_INSTANCE_DIR": str(tmp_path)}


def settings_with(table: dict, **values):
    settings = load_settings(environ={**BASE_ENV, "IVR_INSTANCE_DIR": "/nonexistent"})
    extra = {**settings.extra, "routing": {"forces": table}}
    return dataclasses.replace(settings, extra=extra, **values)


def test_destinations_come_from_the_settings_with_environment_overrides(forces):
    settings = settings_with(
        {"kent": {"url": "https://psd.kent.example/in", "secret": "a" * 32}},
        routing_fallback_force="metropolitan",
    )
    environ = {
        "IVR_ROUTE_KENT_SECRET": SECRET,
        "IVR_ROUTE_METROPOLITAN_EMAIL": "acac@met.example",
        "IVR_ROUTE_AVON_AND_SOMERSET_URL": "https://psd.avon.example/in",
        "IVR_ROUTE_AVON_AND_SOMERSET_SECRET": SECRET,
    }
    routes = Routes.load(settings, forces, environ)
    kent = routes.for_force("kent")
    assert (kent.channel, kent.target, kent.secret) == (
        "https",
        "https://psd.kent.example/in",
        SECRET,
    )
    assert routes.for_force("avon-and-somerset").target == "https://psd.avon.example/in"
    met = routes.for_force("unknown")
    assert (met.force_id, met.channel, met.target) == ("metropolitan", "email", "acac@met.example")
    assert met.description == "Metropolitan Police Service Anti-Corruption and Abuse Command"
    assert len(routes.forces.forces) == 48


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"atlantis": {"email": "a@b.example"}}, "not a force"),
        ({"kent": {"url": "http://psd.kent.example/", "secret": SECRET}}, "must start with https"),
        ({"kent": {"url": "https://psd.kent.example/", "secret": "short"}}, "secret of at least"),
        ({"kent": {"url": "https://x.example/", "secret": SECRET, "email": "a@b.c"}}, "both"),
        ({"kent": {"email": "not an address"}}, "not an e-mail address"),
    ],
)
def test_a_malformed_destination_is_refused_in_one_line(forces, table, message):
    with pytest.raises(SettingsError, match=message) as caught:
        Routes.load(settings_with(table), forces, {})
    assert "\n" not in str(caught.value)


def test_ivr_deliver_once_sends_what_is_due(env, session, forces, force_server):
    routes = routes_to(forces, {"kent": ("https", force_server.url)})
    report = make_report(session)
    approve(session, report, make_user(session), routes)
    env = {**env, "IVR_ROUTE_KENT_URL": force_server.url, "IVR_ROUTE_KENT_SECRET": SECRET}
    result = CliRunner().invoke(cli, ["deliver", "--once"], env=env)
    assert result.exit_code == 0, result.output
    assert "delivered 1, failed 0" in result.output
    assert len(force_server.acknowledged) == 1
    session.expire_all()
    assert session.scalars(select(Report.status)).one() == "disseminated"


def test_ivr_purge_reports_what_it_erased(env):
    result = CliRunner().invoke(cli, ["purge", "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    assert "would erase: 0 calls' details (0 events), 0 reports' contact details" in result.output
    result = CliRunner().invoke(cli, ["purge"], env=env)
    assert result.exit_code == 0 and result.output.startswith("erased: ")


def test_ivr_routes_lists_every_force(env):
    env = {**env, "IVR_ROUTE_KENT_EMAIL": "psd@kent.example"}
    result = CliRunner().invoke(cli, ["routes"], env=env)
    assert result.exit_code == 0
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 48
    assert any(line.startswith("kent ") and "email psd@kent.example" in line for line in lines)
    assert any("Anti-Corruption and Abuse Command" in line for line in lines)
    assert "47 forces have no destination configured" in result.stderr


def test_bad_routing_settings_stop_the_worker_with_one_clear_line(env):
    ivr = Path(sys.executable).with_name("ivr")
    bad = {**os.environ, **env, "IVR_ROUTE_KENT_URL": "ftp://psd.kent.example/"}
    done = subprocess.run([str(ivr), "deliver", "--once"], env=bad, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "ivr: routing.forces.kent (IVR_ROUTE_KENT_*) url must start with https://, "
        "not 'ftp://psd.kent.example/'"
    ]


def test_ivr_deliver_rolls_up_the_settled_days_figures(env, session):
    """The figures pages only read; the worker is where each settled day gets counted."""
    session.add(
        Call(
            call_key="rolled",
            line="helpline",
            language="en",
            step="force",
            status="ended",
            outcome="abandoned",
            abandoned_step="force",
            started_at=utcnow() - timedelta(days=3),
        )
    )
    session.commit()
    result = CliRunner().invoke(cli, ["deliver", "--once"], env=env)
    assert result.exit_code == 0, result.output
    counted = session.scalars(select(CountedDay.day)).all()
    assert (utcnow() - timedelta(days=3)).date() in counted
    rows = session.scalars(select(FigureDay).where(FigureDay.figure == "outcome")).all()
    assert [(row.key, row.count) for row in rows] == [("abandoned:force", 1)]


def test_a_command_on_a_database_never_made_says_so_in_one_line(env, tmp_path):
    env = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'never-made.db'}"}
    result = CliRunner().invoke(cli, ["user", "disable", "nobody"], env=env)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: the database (")
    assert "has no tables yet: run `ivr db upgrade` first" in lines[0]
    assert "Traceback" not in result.output


def test_ivr_deliver_once_sends_an_approved_follow_up_too(env, session, forces, force_server):
    from ivr.records import followup_messages as fm

    routes = routes_to(forces, {"kent": ("https", force_server.url)})
    report = make_report(session)
    supervisor = make_user(session)
    approve(session, report, supervisor, routes)
    env = {**env, "IVR_ROUTE_KENT_URL": force_server.url, "IVR_ROUTE_KENT_SECRET": SECRET}
    assert CliRunner().invoke(cli, ["deliver", "--once"], env=env).exit_code == 0
    session.expire_all()
    added = fm.from_reporter(session, report, "He drives a blue van.", None, route="online")
    fm.approve(session, added, supervisor)
    session.commit()
    result = CliRunner().invoke(cli, ["deliver", "--once"], env=env)
    assert "delivered 1, failed 0" in result.output, result.output
    assert force_server.records()[-1]["update"]["text"] == "He drives a blue van."
