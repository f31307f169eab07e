"""The models' CHECK constraints list the same codes as the database the migrations
made: a code added to an enum needs a migration that widens the check (and a migration
that widens it needs the member), or a database made by `create_all` and a migrated
one would accept different codes."""

from __future__ import annotations

import re

from sqlalchemy import Enum, create_engine, inspect

from ivr.core.db import normalise_url
from ivr.models import Base


def _model_checks() -> dict[str, set[str]]:
    """ck_<table>_<column> -> the codes the model allows."""
    checks = {}
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, Enum) and column.type.create_constraint:
                checks[f"ck_{table.name}_{column.name}"] = set(column.type.enums)
    return checks


def _migrated_checks(database_url: str) -> dict[str, set[str]]:
    """ck_<table>_<column> -> the codes in the migrated database's CHECK constraint."""
    engine = create_engine(normalise_url(database_url))
    try:
        inspector = inspect(engine)
        checks = {}
        for table in inspector.get_table_names():
            for check in inspector.get_check_constraints(table):
                if " IN " in check["sqltext"].upper() or "ANY" in check["sqltext"].upper():
                    checks[check["name"]] = set(re.findall(r"'([^']*)'", check["sqltext"]))
        return checks
    finally:
        engine.dispose()


def test_every_code_check_of_the_models_is_the_migrated_databases(database_url):
    model = _model_checks()
    migrated = _migrated_checks(database_url)
    assert model, "no code column found in the models"
    assert {name: migrated.get(name) for name in model} == model
    assert set(migrated) == set(model)
