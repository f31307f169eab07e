"""Calls over time are counted in UK days (and weeks from Monday), summer time
included, the same on SQLite and PostgreSQL; test calls never count."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from ivr.insight.calls_over_time import calls_over_time
from ivr.models import Call


def _call(db, at: datetime, language: str = "en", is_test: bool = False) -> None:
    db.add(
        Call(
            call_key=uuid.uuid4().hex,
            line="helpline",
            language=language,
            step="queue",
            status="ended",
            is_test=is_test,
            started_at=at,
        )
    )


def test_uk_days_weeks_and_languages(db):
    # 23:30 UTC on Tuesday 30 June is 00:30 BST on Wednesday 1 July.
    _call(db, datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    _call(db, datetime(2026, 6, 30, 22, 30, tzinfo=UTC), language="cy")  # 23:30 BST, 30 June
    _call(db, datetime(2026, 7, 6, 9, 0, tzinfo=UTC))  # Monday 6 July: the next week
    _call(db, datetime(2026, 7, 1, 9, 0, tzinfo=UTC), is_test=True)
    db.commit()
    start = datetime(2026, 6, 28, 23, 0, tzinfo=UTC)  # midnight BST, Monday 29 June
    end = datetime(2026, 7, 7, 23, 0, tzinfo=UTC)  # to the end of Tuesday 7 July
    over = calls_over_time(db, start, end)
    days = dict(over.by_day)
    assert days[date(2026, 6, 30)] == 1 and days[date(2026, 7, 1)] == 1
    assert days[date(2026, 7, 6)] == 1 and days[date(2026, 6, 29)] == 0
    assert len(over.by_day) == 9
    assert over.by_week == [(date(2026, 6, 29), 2), (date(2026, 7, 6), 1)]
    assert over.by_language == {"en": 2, "cy": 1}
    assert calls_over_time(db, start, end, line="another").by_language == {}
