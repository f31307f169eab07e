"""Migration 0002 (the console's indexes) matches the models, and goes down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from ivr.db import normalise_url
from ivr.migrate import downgrade, upgrade
from ivr.models import Base


def test_models_and_migrations_agree(database_url):
    engine = create_engine(normalise_url(database_url))
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert differences == []


def test_0002_goes_down_and_up(database_url):
    downgrade(database_url, "0001")
    engine = create_engine(normalise_url(database_url))
    names = {i["name"] for i in inspect(engine).get_indexes("report_subjects")}
    assert "ix_report_subjects_report_id" not in names
    engine.dispose()
    upgrade(database_url)
    engine = create_engine(normalise_url(database_url))
    names = {i["name"] for i in inspect(engine).get_indexes("report_subjects")}
    assert "ix_report_subjects_report_id" in names
    engine.dispose()
