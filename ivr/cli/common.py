"""What every command shares: the one way a command opens the database, and the one
place a database's complaint becomes a line for a human (never a traceback)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr.core.forces import ForceCatalogue
from ivr.core.no_answer import NoAnswer
from ivr.core.routing import Routes
from ivr.core.settings import Settings

# PostgreSQL's codes (SQLSTATE) for what a command can be told to do something about.
UNDEFINED_TABLE = "42P01"
QUERY_CANCELED = "57014"  # statement_timeout
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout


def db_error(exc: SQLAlchemyError) -> str:
    """One line naming the database's complaint (never the SQL or its parameters)."""
    return f"database error: {type(getattr(exc, 'orig', None) or exc).__name__}"


def database_problem(exc: SQLAlchemyError, url: str) -> str:
    """What went wrong with the database at `url`, and what to do, in one line."""
    where = safe_url(url)
    orig = getattr(exc, "orig", None)
    if isinstance(exc, DBAPIError) and exc.statement is None:
        # Raised while connecting: the server is away, refuses us, or never answered.
        # The driver's own words say which; they hold no SQL and no password.
        reason = str(orig or exc).strip().splitlines()[0].rsplit(": ", 1)[-1].strip()
        return f"cannot connect to the database ({where}): {reason}"
    if isinstance(exc, NoAnswer):
        return (
            f"the database ({where}) did not answer within {exc.seconds:g} s "
            "(frozen, or the network to it lost); run it again once it answers"
        )
    code = getattr(orig, "sqlstate", None)
    if code == UNDEFINED_TABLE or str(orig).startswith("no such table"):
        return f"the database ({where}) has no tables yet: run `ivr db upgrade` first"
    if code == QUERY_CANCELED:
        return f"the database ({where}) took too long to answer (statement timeout)"
    if code == LOCK_NOT_AVAILABLE:
        return (
            f"the database ({where}) is busy: another process holds a lock this needs "
            "(lock timeout); try again"
        )
    return f"{db_error(exc)} ({where})"


@contextlib.contextmanager
def database_errors(url: str) -> Iterator[None]:
    """A database error inside becomes one line and a non-zero exit (click's)."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise click.ClickException(database_problem(exc, url)) from None


def safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@contextlib.contextmanager
def open_database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the settings' database, for the length of a command.

    A database error that reaches here ends the command with one line (promise 5:
    never a traceback); the engine is closed however the command ends.
    """
    from ivr.core.db import make_engine

    engine = make_engine(settings.database_url)
    try:
        with database_errors(settings.database_url):
            yield sessionmaker(engine, expire_on_commit=False)
    finally:
        engine.dispose()


def load_routes(settings: Settings) -> Routes:
    return Routes.load(settings, ForceCatalogue.load(settings.forces_file))
