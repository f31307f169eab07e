"""How finely we keep times that could point at a caller: no finer than what needs them.

A report leaves the charity with dates, not times of day (ivr/records/record.py): the
force being reported on could otherwise match a report's moments with phone records of
calls to the line.

An ended call keeps nothing that could be matched to the phone company's record of it
(ivr/voice/call_end.py): its times are kept to the hour and its durations to the steps
of the waiting-time histogram. The figures count calls by day, so an hour loses nothing
they show, and it keeps every call in its own local day in any whole-hour time zone
(Europe/London, summer time included), whichever zone the figures are counted in. The
histogram's steps are what the waiting-time figures are exact to already.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

# The charity's clock: a date is the one people in the UK would give.
UK = ZoneInfo("Europe/London")

# The waiting-time histogram's steps: (below this many seconds, step in seconds).
WAIT_STEPS = ((60, 5), (600, 10), (3600, 60))
WAIT_STEP_BEYOND = 600


def wait_step(seconds: int) -> int:
    """A waiting time rounded down to the histogram's step (ivr/insight/day_counts.py's SQL
    does the same)."""
    for below, step in WAIT_STEPS:
        if seconds < below:
            return seconds - seconds % step
    return seconds - seconds % WAIT_STEP_BEYOND


def to_the_hour(moment: datetime | None) -> datetime | None:
    """The hour a moment falls in (its start)."""
    if moment is None:
        return None
    return moment.replace(minute=0, second=0, microsecond=0)


def uk_date(moment: datetime | None) -> date | None:
    """The UK calendar day of a moment (stored times are UTC; SQLite's come back naive)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UK).date()
