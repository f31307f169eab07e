"""`ivr db upgrade` on PostgreSQL never waits for ever: a migration's statement runs at
most migration_statement_timeout_seconds, waits at most migration_lock_timeout_seconds
for a lock, and a server that stops answering mid-migration (frozen: SIGSTOP, a hung
host) is cut off by the client a few seconds later. Each ends in one line and a
non-zero exit (the real command, in a subprocess, with short limits)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from ivr.core.db import normalise_url
from ivr.core.migrate import NO_ANSWER_MARGIN_SECONDS, upgrade
from ivr.sim.faults import TcpProxy
from tests.cli.test_cli_errors import LIMIT_SECONDS, ivr, refuse
from tests.cli.test_settings_and_cli import good_env
from tests.conftest import new_postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def migrated() -> Iterator[str]:
    """A database of its own, migrated to the latest schema."""
    with new_postgres_database("helpline_limits") as url:
        upgrade(url)
        yield url


@pytest.fixture
def locked(migrated: str) -> Iterator[str]:
    """Another session holds ACCESS EXCLUSIVE on alembic_version, which every upgrade reads."""
    engine = create_engine(normalise_url(migrated))
    with engine.connect() as conn:
        conn.execute(text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
        yield migrated
        conn.rollback()
    engine.dispose()


def limits(statement: int, lock: int) -> dict[str, str]:
    return {
        "IVR_DB_MIGRATION_STATEMENT_TIMEOUT": str(statement),
        "IVR_DB_MIGRATION_LOCK_TIMEOUT": str(lock),
    }


def test_a_lock_held_by_another_session_ends_the_upgrade_at_the_lock_timeout(tmp_path, locked):
    env = {**good_env(tmp_path), "DATABASE_URL": locked, **limits(statement=300, lock=1)}
    refuse(*ivr("db", "upgrade"), env=env, expect="is busy: another process holds a lock")


def test_a_statement_past_the_statement_timeout_ends_the_upgrade(tmp_path, locked):
    # Waiting for the lock is the statement running: with the lock timeout longer,
    # the statement timeout ends it.
    env = {**good_env(tmp_path), "DATABASE_URL": locked, **limits(statement=2, lock=60)}
    refuse(*ivr("db", "upgrade"), env=env, expect="took too long to answer (statement timeout)")


def test_a_server_frozen_mid_migration_is_cut_off_by_the_client(tmp_path, locked):
    """The upgrade's statement waits at the server (the lock); then the server freezes
    (a proxy that passes nothing, as SIGSTOP leaves it): its statement timeout, sent
    back, never arrives, and only the client's own deadline ends the wait."""
    host, port = locked.split("@", 1)[1].split("/", 1)[0].split(":")
    proxy = TcpProxy(host, int(port)).start()
    through_proxy = locked.replace(f"{host}:{port}", f"127.0.0.1:{proxy.port}")
    env = {**good_env(tmp_path), "DATABASE_URL": through_proxy, **limits(statement=2, lock=60)}
    freezer = threading.Thread(target=_freeze_when_waiting, args=(locked, proxy), daemon=True)
    freezer.start()
    try:
        line = refuse(*ivr("db", "upgrade"), env=env, expect="did not answer within")
    finally:
        proxy.stop()
        freezer.join(timeout=LIMIT_SECONDS)
    assert f"within {2 + NO_ANSWER_MARGIN_SECONDS} s" in line


def _freeze_when_waiting(url: str, proxy: TcpProxy) -> None:
    """Freeze `proxy` once a session of the database waits for a lock on alembic_version."""
    engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    waiting = text(
        "SELECT count(*) FROM pg_locks WHERE NOT granted "
        "AND relation = 'alembic_version'::regclass AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    try:
        with engine.connect() as conn:
            deadline = time.monotonic() + LIMIT_SECONDS
            while time.monotonic() < deadline and not conn.execute(waiting).scalar():
                time.sleep(0.05)
        proxy.set_mode("freeze")
    finally:
        engine.dispose()
