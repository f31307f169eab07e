"""Migration 0003 (calls.details_erased_at) matches the models, and goes down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from ivr.db import make_engine
from ivr.migrate import downgrade, upgrade
from ivr.models import Base


def differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()


def columns(url: str, table: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_the_migrated_database_matches_the_models(database_url):
    assert differences(database_url) == []
    assert "details_erased_at" in columns(database_url, "calls")


def test_0003_goes_down_and_up(database_url):
    if not database_url.startswith("sqlite"):
        return  # the PostgreSQL database is shared by the session's tests: SQLite shows it
    downgrade(database_url, "0002")
    assert "details_erased_at" not in columns(database_url, "calls")
    upgrade(database_url)
    assert differences(database_url) == []
