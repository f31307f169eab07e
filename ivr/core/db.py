"""The database: one engine per app, one session per request (or per CLI command)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.orm import Session, sessionmaker

from ivr.core.private_files import private_database
from ivr.core.settings import SettingsError


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever the URL says (postgres://, postgresql://)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def prepare_sqlite_file(url: str) -> None:
    """A SQLite database file (and its folder, if we make it) private before SQLite
    first opens it: 0600, and so are its -wal and -shm (ivr/core/private_files.py)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            try:
                private_database(Path(database))
            except OSError as exc:
                raise SettingsError(
                    f"setting database_url (DATABASE_URL): cannot create the SQLite file "
                    f"{database}: {exc.strerror or exc}"
                ) from None


# Twilio waits 15 s in all for a webhook's answer, and every webhook answers within
# WEBHOOK_DEADLINE (ivr/voice/deadline.py). The database's own limits are shorter, so
# a slow or locked database ends in an error the webhook can turn into words in time.
CONNECT_TIMEOUT_SECONDS = 3
STATEMENT_TIMEOUT_MS = 5000
LOCK_TIMEOUT_MS = 3000
SQLITE_BUSY_TIMEOUT_MS = 5000
# How long a request waits for a free pooled connection before giving up.
POOL_TIMEOUT_SECONDS = 3
# A pooled connection that has rested this long is checked before use (see _ping_if_rested).
PING_AFTER_IDLE_SECONDS = 1.0


def make_engine(url: str, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS) -> Engine:
    """The engine, with the time limits above. `statement_timeout_ms` 0 is no limit (for
    commands that may rightly run long, like a purge)."""
    url = normalise_url(url)
    # Statement parameters never reach an exception message or a log line. Pooled
    # connections are checked before use only after resting (_ping_if_rested).
    if url.startswith("sqlite"):
        prepare_sqlite_file(url)
    engine = create_engine(
        url,
        hide_parameters=True,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args=connect_args(url, statement_timeout_ms),
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_rested(engine))
    return engine


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_rested(engine: Engine) -> Any:
    """A pooled connection that has rested a while is checked before use (a round trip),
    so that after a database restart a request gets a fresh connection, not an error.
    One back in use within PING_AFTER_IDLE_SECONDS is not: under load that is every
    connection, and the ping was a webhook's second round trip (docs/benchmarks.md). A
    restart between two uses that close together fails that request (the caller hears
    "please hold" and is picked up again, ivr/voice/outage.py), and the failure makes the
    pool replace every older connection."""

    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        rested_since = record.info.get("checked_in_at")
        if rested_since is None or time.monotonic() - rested_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool replaces this connection and every older one, then tries again.
            raise InvalidatePoolError(f"ping failed: {type(exc).__name__}") from None

    return ping


def connect_args(
    url: str,
    statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
    lock_timeout_ms: int = LOCK_TIMEOUT_MS,
) -> dict[str, Any]:
    """The driver's time limits, for every engine of ours (the migrations' too): no
    connection waits on the database for ever, whatever the database does."""
    if normalise_url(url).startswith("sqlite"):
        return {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    return {
        # Fail fast when the server is away, or accepts and never answers.
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        # A server (or the network to it) that vanishes without closing the
        # connection is noticed within about 20 s rather than the kernel's 2 hours.
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 3,
        "keepalives_count": 3,
        "tcp_user_timeout": 20000,
        # A statement or a lock wait that outlives a caller's patience is ended
        # by the server; so is a transaction left open by a stuck client.
        "options": (
            f"-c statement_timeout={statement_timeout_ms} "
            f"-c lock_timeout={min(lock_timeout_ms, statement_timeout_ms or lock_timeout_ms)} "
            "-c idle_in_transaction_session_timeout=60000"
        ),
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the queue page read while a webhook writes; NORMAL sync is durable
    # across application crashes, which is what a worker killed mid-call needs.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Well under Twilio's 15 s: a writer kept waiting gives up in time to apologise.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # Deleted rows are overwritten on disk, so erased data (retention) is gone from the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def init_app(app: Flask, url: str) -> None:
    engine = make_engine(url)
    app.extensions["ivr.db.engine"] = engine
    # The same pool, each connection in autocommit while checked out: a single statement
    # that stands alone (a new call's INSERT) is one round trip, with no BEGIN or COMMIT.
    app.extensions["ivr.autocommit_engine"] = engine.execution_options(isolation_level="AUTOCOMMIT")
    app.extensions["ivr.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def get_engine(app: Flask | None = None) -> Engine:
    return (app or current_app).extensions["ivr.db.engine"]


def autocommit_connection() -> Connection:
    """A connection where each statement commits by itself, for one-statement writes."""
    return current_app.extensions["ivr.autocommit_engine"].connect()


def get_session() -> Session:
    """The session of this request or app context, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["ivr.sessionmaker"]()
    return g.db_session


def insert_on_conflict(connection: Connection) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (`on_conflict_do_nothing`): PostgreSQL's
    or SQLite's, whichever the connection speaks."""
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


class Interrupted(Exception):
    """The request's work was stopped from outside it (a webhook's deadline): a
    statement may still be in flight on its connections."""


def let_go_of_the_database() -> None:
    """After a webhook's deadline has passed: this request's session drops its connections
    without a word to the server (no rollback on a server that may not answer); the
    server ends what they left open (idle_in_transaction_session_timeout)."""
    session = g.pop("db_session", None)
    if session is not None:
        session.invalidate()


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
