"""The database has time limits shorter than Twilio's 15 s, and pooled connections
are checked before use (so a database restart costs no caller an apology)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ivr.core.db import get_engine, make_engine
from ivr.sim.twilio import spoken
from tests.conftest import POSTGRES_URL

APOLOGY = "Sorry, we have a technical problem"


def test_sqlite_waits_for_a_lock_well_under_twilios_limit(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() <= 5000
    engine.dispose()


@pytest.mark.postgres
def test_postgres_statements_and_locks_have_time_limits():
    if not POSTGRES_URL:
        pytest.skip("TEST_POSTGRES_URL is not set")
    engine = make_engine(POSTGRES_URL)
    with engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "5s"
        assert conn.execute(text("SHOW lock_timeout")).scalar() == "3s"
        # The client's TCP keepalive (libpq's, not the server's setting).
        libpq = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
        assert libpq["keepalives_idle"] == "10"
    engine.dispose()


@pytest.mark.postgres
def test_a_long_running_command_may_lift_the_statement_limit():
    if not POSTGRES_URL:
        pytest.skip("TEST_POSTGRES_URL is not set")
    engine = make_engine(POSTGRES_URL, statement_timeout_ms=0)
    with engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "0"
    engine.dispose()


def _kill_other_connections(app) -> None:  # type: ignore[no-untyped-def]
    """What a database restart does to the pool: every connection it holds is dead."""
    engine = get_engine(app)
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    database = engine.url.database
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": database},
        )
    admin.dispose()


@pytest.mark.postgres
def test_after_a_database_restart_no_caller_hears_the_apology(app, database_url, new_call):
    if not database_url.startswith("postgres"):
        pytest.skip("a restart of the server is a PostgreSQL matter")
    for call in [new_call() for _ in range(3)]:
        call.start()  # the pool now holds a connection
    _kill_other_connections(app)
    for call in [new_call() for _ in range(3)]:
        assert APOLOGY not in " ".join(spoken(call.start()))


def test_gunicorn_replaces_a_stuck_worker_before_twilio_gives_up():
    from ivr import gunicorn_conf

    assert gunicorn_conf.timeout < 15
