"""Fixtures: a fresh app over a real SQLite file (migrated with Alembic), or over
the real PostgreSQL server when TEST_POSTGRES_URL is set, and a simulated Twilio."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ivr import create_app
from ivr.core.db import get_engine, normalise_url
from ivr.core.migrate import upgrade
from ivr.sim.twilio import SimulatedCall, flask_transport
from ivr.sim.walks import Answers, keys_until

# Real-browser fixtures (live_server, browser, browser_page), for any test file to use.
from tests.browser import browser, browser_page, live_server  # noqa: E402, F401

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated from empty; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "helpline.db"
    upgrade(f"sqlite:///{path}")
    return path


@contextmanager
def new_postgres_database(prefix: str) -> Iterator[str]:
    """An empty database of its own on the PostgreSQL server (its URL), dropped after;
    the test is skipped without TEST_POSTGRES_URL."""
    if not POSTGRES_URL:
        pytest.skip("TEST_POSTGRES_URL is not set")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh database on the PostgreSQL server, migrated from empty, dropped at the end."""
    with new_postgres_database("helpline_test") as url:
        upgrade(url)
        yield url


def _empty_postgres(url: str) -> None:
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        if tables:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """Each test that asks for it runs on SQLite, and on PostgreSQL when it is configured."""
    if request.param == "sqlite":
        path = tmp_path / "helpline.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def settings_overrides(database_url: str, tmp_path: Path) -> dict[str, object]:
    return {
        "database_url": database_url,
        "twilio_auth_token": AUTH_TOKEN,
        "secret_key": "s" * 40,
        "contact_key": Fernet.generate_key().decode(),
        "environment": "production",
        "check_signatures": True,
        "public_base_url": "",
        "online_report_url": "crimestoppers-uk.org",
        # No handler signs in for most tests: callers go to the queue whatever the hour.
        # tests/voice/test_no_one_to_answer.py turns it on.
        "check_staffing": False,
    }


@pytest.fixture
def app(settings_overrides: dict[str, object]) -> Iterator[Flask]:
    app = create_app(settings_overrides)
    app.config["TESTING"] = True
    yield app
    get_engine(app).dispose()


@pytest.fixture
def client(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def call_ids() -> dict[str, int]:
    """CallSid -> the call's row id, noted while the call is live: once it has ended,
    nothing we keep finds it from its CallSid (ivr/voice/call_end.py), but tests may."""
    return {}


@pytest.fixture
def new_call(app: Flask, client, call_ids: dict[str, int]):  # type: ignore[no-untyped-def]
    """Make a simulated call (not yet started) through the app's test client."""
    from sqlalchemy import select

    from ivr.models import Call
    from ivr.voice.door import call_key

    post = flask_transport(client)

    def make(**kwargs: object) -> SimulatedCall:
        def noting(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
            sid = form.get("CallSid", "")
            answer = post(url, form, headers)
            if sid and sid not in call_ids:
                key = call_key(app.config["IVR_SETTINGS"].secret_key, sid)
                try:
                    with Session(get_engine(app)) as session:
                        found = session.scalar(select(Call.id).where(Call.call_key == key))
                except SQLAlchemyError:  # a test that breaks the database on purpose
                    found = None
                if found is not None:
                    call_ids[sid] = found
            return answer

        return SimulatedCall(
            transport=noting,
            auth_token=AUTH_TOKEN,
            base_url="http://localhost/",
            **kwargs,  # type: ignore[arg-type]
        )

    return make


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.fixture
def stored_call(app: Flask, call_ids: dict[str, int]):  # type: ignore[no-untyped-def]
    """The Call row behind a simulated call, read fresh from the database (an ended call
    by the row id noted while it was live)."""
    from sqlalchemy import select

    from ivr.core.db import get_session
    from ivr.models import Call
    from ivr.voice.door import call_key

    def load(sim: SimulatedCall) -> Call | None:
        with app.app_context():
            session = get_session()
            key = call_key(app.config["IVR_SETTINGS"].secret_key, sim.call_sid)
            call = session.scalar(select(Call).where(Call.call_key == key))
            if call is None and sim.call_sid in call_ids:
                call = session.get(Call, call_ids[sim.call_sid])
            if call is not None:
                session.expunge(call)
            return call

    return load


def start_in_english(call: SimulatedCall):  # type: ignore[no-untyped-def]
    """Ring the main number and choose English at the language menu."""
    call.start()
    return call.press("1")


def press_all(call: SimulatedCall, keys: Iterable[str]):  # type: ignore[no-untyped-def]
    """Press each key (or typed number) in turn; the last TwiML, or None for no key."""
    twiml = None
    for key in keys:
        twiml = call.press(key)
    return twiml


def walk(call: SimulatedCall, to: str = "", start: str | None = None, **answers: Any):  # type: ignore[no-untyped-def]
    """Ring and answer the menus with `answers` (ivr/sim/walks.py's Answers: force, role,
    category, urgent, anonymous, contact, language; its defaults otherwise) up to the
    step `to` (asked, not answered), or to the queue. The keys come from the flow
    file, so a changed menu changes no test. `start`: the step the dialled number
    starts at ("welcome" for the Welsh-first number). The last TwiML heard."""
    first = call.start()
    keys = keys_until(to, Answers(**answers), start=start)
    return press_all(call, keys) if keys else first
