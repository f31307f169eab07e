"""Fixtures for the call log and figures tests: a session on the test database,
and the hand-made data set of tests/insight/seed.py written into it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from ivr.core.db import make_engine
from tests.insight.seed import seed


@pytest.fixture
def db(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


@pytest.fixture
def seeded(db: Session) -> dict[str, int]:
    return seed(db)
