"""Alembic environment: the URL comes from the helpline's settings (or the caller)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from ivr.core.db import connect_args, normalise_url, prepare_sqlite_file
from ivr.core.migrate import NO_ANSWER_MARGIN_SECONDS, MigrationLimits
from ivr.core.no_answer import cut_off_unanswered
from ivr.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=normalise_url(config.get_main_option("sqlalchemy.url") or ""),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = normalise_url(config.get_main_option("sqlalchemy.url") or "")
    prepare_sqlite_file(url)
    # The app's time limits (ivr/core/db.py): a database that accepts and never answers
    # fails `ivr db upgrade` within seconds, and a migration waits at most a few seconds
    # for a lock the app holds rather than queueing every webhook behind it. A statement
    # may run as long as the settings allow ([database] in config/default.toml), no limit
    # without them; one a frozen server never answers is cut off by the client a little
    # later. SQLite's pragmas are not the app's (no foreign keys: batch migrations copy
    # and drop tables), and its busy timeout is its own.
    limits: MigrationLimits | None = config.attributes.get("limits")
    if limits is None:
        args = connect_args(url, 0)
    else:
        args = connect_args(url, limits.statement_seconds * 1000, limits.lock_seconds * 1000)
    engine = create_engine(url, poolclass=pool.NullPool, hide_parameters=True, connect_args=args)
    if limits is not None and not url.startswith("sqlite"):
        cut_off_unanswered(engine, limits.statement_seconds + NO_ANSWER_MARGIN_SECONDS)
    with engine.connect() as conn:
        _run(conn)


def _run(connection) -> None:
    # Batch mode lets SQLite alter tables the way PostgreSQL can.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
