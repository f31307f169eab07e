"""One clock for everything a person reads in the console: UK local time.

The database keeps UTC (ivr.models.utcnow). Every time shown is converted here to
Europe/London, summer time included, and labelled GMT or BST, so a page reads the
same whichever machine drew it; the scripts (queue.js, report.js) format their
times with the same zone and the same label. Dates typed into a filter are UK
days: `uk_day_bounds` turns one into the UTC instants that bound it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint
from markupsafe import Markup

UK = ZoneInfo("Europe/London")


def in_uk(moment: datetime) -> datetime:
    """A stored instant (naive means UTC: SQLite hands them back so) in UK time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UK)


def _format(moment: datetime | None, pattern: str) -> Markup:
    if moment is None:
        return Markup("—")
    local = in_uk(moment)
    words = f"{local.strftime(pattern)} {local.tzname()}"
    return Markup('<time datetime="{}">{}</time>').format(local.isoformat(), words)


def uk_datetime(moment: datetime | None) -> Markup:
    """ "1 Dec 2026, 13:45 GMT" """
    return _format(moment, "%-d %b %Y, %H:%M")


def uk_datetime_seconds(moment: datetime | None) -> Markup:
    return _format(moment, "%-d %b %Y, %H:%M:%S")


def uk_time(moment: datetime | None) -> Markup:
    """ "13:45:57 GMT" """
    return _format(moment, "%H:%M:%S")


def uk_date(moment: datetime | None) -> str:
    return "—" if moment is None else in_uk(moment).strftime("%-d %b %Y")


def uk_now_words(moment: datetime) -> str:
    """Plain text for a flash message: "13:45:57 GMT"."""
    local = in_uk(moment)
    return f"{local.strftime('%H:%M:%S')} {local.tzname()}"


def uk_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants a UK day runs between: 23 hours in March, 25 in October."""
    start = datetime.combine(day, time(), tzinfo=UK)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UK)
    return start.astimezone(UTC), end.astimezone(UTC)


def uk_today(now: datetime) -> date:
    return in_uk(now).date()


def register(bp: Blueprint) -> None:
    for function in (uk_datetime, uk_datetime_seconds, uk_time, uk_date):
        bp.add_app_template_filter(function)
