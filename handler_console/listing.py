"""What the report lists show beside each reference: its forces, its categories,
its age and whether it came from a test call, read for the whole list at once
(one query for the test calls, not one per row)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from handler_console.words import category_name, force_name
from ivr.core.db import get_session
from ivr.models import Call, Report, utcnow
from ivr.records import marked_reports


def test_call_ids(call_ids: Iterable[int | None]) -> set[int]:
    wanted = {i for i in call_ids if i is not None}
    if not wanted:
        return set()
    return set(get_session().scalars(select(Call.id).where(Call.id.in_(wanted), Call.is_test)))


def is_test_report(report: Report) -> bool:
    return marked_reports.is_test_report(get_session(), report)


def age(since: datetime | None, now: datetime | None = None) -> str:
    """ "12 min", "5 hours", "3 days": how long ago, as a person reads it."""
    if since is None:
        return "—"
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    minutes = max(0, int(((now or utcnow()) - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{hours // 24} days"


def list_context(reports: list[Report]) -> dict[str, Callable[..., Any]]:
    """Template helpers for a list of reports."""
    tests = test_call_ids(r.call_id for r in reports)

    def forces_of(report: Report) -> str:
        names = dict.fromkeys(force_name(s.force) for s in report.subjects)
        return "; ".join(names) or "Not known"

    def categories_of(report: Report) -> str:
        return "; ".join(category_name(c) for c in report.categories or []) or "Not said"

    return {
        "is_test": lambda report: report.call_id in tests,
        "forces_of": forces_of,
        "categories_of": categories_of,
        "age": age,
    }
