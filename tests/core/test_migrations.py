"""The migrations build the schema the models describe, from empty, on both back-ends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from ivr.core.db import normalise_url
from ivr.core.migrate import downgrade, upgrade
from ivr.models import Base


def test_migrated_schema_matches_the_models(database_url):
    # database_url is already migrated from empty (SQLite template, or a new PostgreSQL db).
    engine = create_engine(normalise_url(database_url))
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert differences == []


def test_downgrade_to_empty_and_back(tmp_path):
    """Every revision's downgrade, then every upgrade again, ends where the models are."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    downgrade(url, "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    assert {"calls", "call_events", "reports", "users"} <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()
