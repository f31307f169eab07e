"""Fixtures for the voice tests."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ivr.core.db import get_engine


@pytest.fixture
def break_database(app):  # type: ignore[no-untyped-def]
    """Take the calls table away (as a failed migration or a lost disk would), then restore it."""
    engine = get_engine(app)

    def rename(old: str, new: str) -> None:
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
        engine.dispose()

    yield lambda _app: rename("calls", "calls_gone")
    with engine.connect() as conn:
        gone = engine.dialect.has_table(conn, "calls_gone")
    if gone:
        rename("calls_gone", "calls")
