"""What every command shares: the one way a command opens the database, and one-line errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr.core.forces import ForceCatalogue
from ivr.core.routing import Routes
from ivr.core.settings import Settings


def db_error(exc: SQLAlchemyError) -> str:
    """One line naming the database's complaint (never the SQL or its parameters)."""
    return f"database error: {type(getattr(exc, 'orig', None) or exc).__name__}"


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
        yield sessionmaker(engine, expire_on_commit=False)
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"{db_error(exc)} ({safe_url(settings.database_url)}; has `ivr db upgrade` been run?)"
        ) from None
    finally:
        engine.dispose()


def load_routes(settings: Settings) -> Routes:
    return Routes.load(settings, ForceCatalogue.load(settings.forces_file))
