"""Every wrong invocation or faulty surrounding the issue found (issue 13, items 12 and
13): the real `ivr` command (and gunicorn) in a subprocess prints one line naming the
setting or the problem, never a traceback, and exits non-zero within a time limit."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.core.settings import PROJECT_ROOT
from tests.cli.test_settings_and_cli import IVR, good_env
from tests.conftest import new_postgres_database

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
# Each case must end well within this; a hang shows as a failure, not a stuck run.
LIMIT_SECONDS = 15
ROUTE_SECRET = "r" * 40
GUNICORN_INFO = re.compile(r"^\[[-\d]+ [:\d]+ [-+]\d{4}\] \[\d+\] \[INFO\] ")


def refuse(*command: str, env: dict[str, str], expect: str) -> str:
    """Run `command`; it must fail with one line on stderr holding `expect`."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("IVR_", "TWILIO_")) and k not in ("DATABASE_URL", "PUBLIC_BASE_URL")
    }
    started = time.monotonic()
    result = subprocess.run(
        command,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=LIMIT_SECONDS + 30,
        stdin=subprocess.DEVNULL,
        cwd=PROJECT_ROOT,
    )
    took = time.monotonic() - started
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    # gunicorn's own information lines ("Starting gunicorn 27.0.1") are not ours.
    lines = [ln for ln in result.stderr.strip().splitlines() if not GUNICORN_INFO.match(ln)]
    assert len(lines) == 1, result.stderr
    assert "Booting worker" not in result.stderr
    assert expect in lines[0], lines[0]
    assert took < LIMIT_SECONDS, f"{command} took {took:.1f} s"
    return lines[0]


def ivr(*args: str) -> tuple[str, ...]:
    return (IVR, *args)


def closed_port() -> int:
    """A port nothing listens on (the kernel's free one, closed again): refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections (the kernel completes them) and never answers:
    a hung server, or a firewall that swallows the traffic."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that exists but has no tables: `ivr db upgrade` was never run."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with new_postgres_database("helpline_empty") as url:
        yield url


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    """A regular file: no folder can be made under it, even by root (the tests run as
    root, so a folder's permissions would not stop them)."""
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    return path


# --- the database ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ("db", "upgrade"),
        ("user", "add", "ann", "--role", "handler", "--generate"),
        ("user", "disable", "ann"),
    ],
)
def test_a_database_that_refuses_connections_is_one_line(tmp_path, command):
    env = {**good_env(tmp_path), "DATABASE_URL": f"postgresql://x@127.0.0.1:{closed_port()}/db"}
    line = refuse(*ivr(*command), env=env, expect="cannot connect to the database")
    assert "Connection refused" in line


def test_db_upgrade_against_a_server_that_never_answers_gives_up_in_time(tmp_path, silent_server):
    env = {**good_env(tmp_path), "DATABASE_URL": f"postgresql://x@127.0.0.1:{silent_server}/db"}
    line = refuse(*ivr("db", "upgrade"), env=env, expect="cannot connect to the database")
    assert "timeout" in line


@pytest.mark.parametrize(
    "command",
    [("user", "add", "ann", "--role", "handler", "--generate"), ("user", "disable", "ann")],
)
def test_user_commands_before_db_upgrade_say_to_run_it(tmp_path, empty_database, command):
    env = {**good_env(tmp_path), "DATABASE_URL": empty_database}
    refuse(*ivr(*command), env=env, expect="has no tables yet: run `ivr db upgrade` first")


def test_an_unwritable_sqlite_path_names_the_setting(tmp_path, a_file):
    env = {**good_env(tmp_path), "DATABASE_URL": f"sqlite:///{a_file / 'helpline.db'}"}
    refuse(*ivr("db", "upgrade"), env=env, expect="setting database_url (DATABASE_URL)")


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("postgresql://x@127.0.0.1:abc/db", "port"),
        ("postgresql://x@127.0.0.1:99999/db", "port"),
        ("postgresql://x@[::1/db", "port"),
        # Drivers not installed: an ImportError, with a traceback, at the first connection.
        ("postgresql+asyncpg://x@127.0.0.1/db", "psycopg 3"),
        ("postgresql+psycopg2://x@127.0.0.1/db", "psycopg 3"),
        # A database in memory: the engine refused the pool's options (a TypeError).
        ("sqlite://", "names no SQLite file"),
        ("sqlite:///:memory:", "names no SQLite file"),
    ],
)
def test_a_database_url_that_cannot_work_names_the_setting(tmp_path, url, why):
    env = {**good_env(tmp_path), "DATABASE_URL": url}
    line = refuse(*ivr("db", "upgrade"), env=env, expect="setting database_url (DATABASE_URL)")
    assert why in line


# --- files and folders -----------------------------------------------------------------


def test_init_instance_into_an_unwritable_folder_names_it(a_file):
    refuse(
        *ivr("init-instance"),
        env={"IVR_INSTANCE_DIR": str(a_file / "instance")},
        expect="IVR_INSTANCE_DIR",
    )


@pytest.mark.parametrize("command", [("call", "--keys", "1"), ("flows", "draw", "crimestoppers")])
def test_a_missing_flows_folder_names_the_setting(tmp_path, command):
    env = {**good_env(tmp_path), "IVR_FLOWS_DIR": str(tmp_path / "no-flows")}
    refuse(*ivr(*command), env=env, expect="setting flows_dir (IVR_FLOWS_DIR)")


def test_a_missing_default_toml_is_named_not_a_setting_it_would_hold(tmp_path):
    env = {**good_env(tmp_path), "IVR_CONFIG_DIR": str(tmp_path / "no-config")}
    line = refuse(*ivr("db", "upgrade"), env=env, expect="default.toml is missing")
    assert "IVR_CONFIG_DIR" in line


@pytest.mark.parametrize("command", [ivr("routes"), ivr("flows", "check"), ivr("serve")])
def test_a_config_folder_without_the_force_list_names_it(tmp_path, command):
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(PROJECT_ROOT / "config" / "default.toml", config)
    env = {**good_env(tmp_path), "IVR_CONFIG_DIR": str(config)}
    refuse(*command, env=env, expect="forces.toml cannot be read (IVR_CONFIG_DIR)")


@pytest.mark.parametrize(
    "broken", ['[forces.kent]\nname = "Kent Police"\n', "forces = 3\n", "regions = 1\n"]
)
def test_a_force_list_with_a_force_missing_a_key_names_the_file(tmp_path, broken):
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(PROJECT_ROOT / "config" / "default.toml", config)
    (config / "forces.toml").write_text(broken)
    env = {**good_env(tmp_path), "IVR_CONFIG_DIR": str(config)}
    refuse(*ivr("routes"), env=env, expect=f"the force list {config / 'forces.toml'}")


# --- a route URL that is no URL: the worker and the app refuse to start ------------------


def bad_route_env(tmp_path: Path) -> dict[str, str]:
    return {
        **good_env(tmp_path),
        "IVR_ROUTE_KENT_URL": "https://[::1",
        "IVR_ROUTE_KENT_SECRET": ROUTE_SECRET,
    }


@pytest.mark.parametrize(
    "command",
    [
        ivr("routes"),
        ivr("deliver", "--once"),
        ivr("serve", "--bind", "127.0.0.1:0"),
        (GUNICORN, "--config", "python:ivr.gunicorn_conf", "--bind", "127.0.0.1:0", "ivr.wsgi:app"),
    ],
    ids=["routes", "deliver", "serve", "gunicorn"],
)
def test_a_route_url_that_is_no_url_stops_the_start_in_one_line(tmp_path, command):
    refuse(*command, env=bad_route_env(tmp_path), expect="routing.forces.kent (IVR_ROUTE_KENT_*)")


# --- item 13: the app with a SQLite folder that cannot be made ---------------------------


@pytest.mark.parametrize(
    "command",
    [
        ivr("serve", "--bind", "127.0.0.1:0"),
        (GUNICORN, "--config", "python:ivr.gunicorn_conf", "--bind", "127.0.0.1:0", "ivr.wsgi:app"),
    ],
    ids=["serve", "gunicorn"],
)
def test_the_app_with_a_sqlite_folder_it_cannot_make_stops_in_one_line(tmp_path, a_file, command):
    database = a_file / "db" / "helpline.db"
    env = {**good_env(tmp_path), "DATABASE_URL": f"sqlite:///{database}"}
    line = refuse(*command, env=env, expect="setting database_url (DATABASE_URL)")
    assert line == (
        "ivr: setting database_url (DATABASE_URL): cannot create the SQLite file "
        f"{database}: Not a directory"
    )
