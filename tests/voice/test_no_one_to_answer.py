"""No one to answer: outside opening hours, or with no handler available, a caller hears
so at once, before the menus; a caller already waiting when the last handler goes is
told at the next wait message; the wait message says how long callers waited lately."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ivr.core.availability import AVAILABLE, AWAY, set_availability
from ivr.models import Call, User
from ivr.sim.twilio import heard, spoken
from ivr.voice import staffing
from tests.conftest import walk
from tests.console_helpers import add_user

TUESDAY_NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # open: 08:00-22:00 UK time
SUNDAY_NIGHT = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # closed until Monday 08:00
CHRISTMAS_DAY = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)  # bank holidays: 25th, 26th
WELSH_FIRST = "+448000850001"


@pytest.fixture
def settings_overrides(settings_overrides):  # type: ignore[no-untyped-def]
    return {**settings_overrides, "check_staffing": True}


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    class Clock:
        now = TUESDAY_NOON

    monkeypatch.setattr(staffing, "now", lambda: Clock.now)
    return Clock


def _set(app, name: str, state: str, at: datetime) -> None:  # type: ignore[no-untyped-def]
    with app.extensions["ivr.sessionmaker"]() as session:
        user = session.scalar(select(User).where(User.username == name))
        set_availability(session, user.id, state, at)
        session.commit()


@pytest.fixture
def hana_available(app, clock):  # type: ignore[no-untyped-def]
    add_user(app, "hana", "handler")
    _set(app, "hana", AVAILABLE, clock.now)


def said(twiml) -> str:  # type: ignore[no-untyped-def]
    return " ".join(spoken(twiml))


def _outcome(app, call) -> str | None:  # type: ignore[no-untyped-def]
    call.hang_up()
    with app.extensions["ivr.sessionmaker"]() as session:
        return session.scalar(select(Call.outcome))


def test_someone_available_in_opening_hours_hears_the_menus(new_call, hana_available):
    call = new_call()
    assert call.start().find("Gather") is not None


def test_closed_is_said_at_once_with_when_it_opens_in_both_languages(app, new_call, clock):
    clock.now = SUNDAY_NIGHT
    add_user(app, "hana", "handler")
    _set(app, "hana", AVAILABLE, clock.now)  # someone signed in does not open the line
    call = new_call()
    twiml = call.start()
    assert twiml.find("Gather") is None and twiml.find("Hangup") is not None
    english, welsh = heard(twiml)
    assert "We're closed now, and open again tomorrow at 8:00." in english.text
    assert "report online at any time, at crimestoppers-uk.org" in english.text
    assert "nine nine nine" in english.text
    assert "ar agor eto yfory am 8:00" in welsh.text
    assert (welsh.voice, welsh.language) == ("Polly.Gwyneth", "cy-GB")
    assert _outcome(app, call) == "closed"


def test_a_bank_holiday_is_closed_and_says_the_day_it_opens(new_call, clock):
    clock.now = CHRISTMAS_DAY  # a Friday; Boxing Day closed too; Sunday opens at 9
    twiml = new_call().start()
    assert "open again on Sunday at 9:00" in said(twiml)


def test_turned_away_a_moment_before_opening_hears_today_not_tomorrow(new_call, monkeypatch):
    """One reading of the clock for "closed" and for when it opens: read again after
    08:00, the caller turned away at 07:59:59 heard "open again tomorrow"."""
    readings = iter([TUESDAY_NOON.replace(hour=7, minute=59, second=59, microsecond=999999)])
    monkeypatch.setattr(staffing, "now", lambda: next(readings, TUESDAY_NOON.replace(hour=8)))
    english, _welsh = heard(new_call().start())
    assert "We're closed now, and open again today at 8:00." in english.text


def test_the_welsh_first_number_says_it_in_welsh_only(new_call, clock):
    clock.now = SUNDAY_NIGHT
    (only,) = heard(new_call(to_number=WELSH_FIRST).start())
    assert only.text.startswith("Llinell gwrth-lygredd a cham-drin yr heddlu. Rydyn ni ar gau")


def test_nobody_available_is_said_at_once_never_held_for_nobody(app, new_call, clock):
    add_user(app, "hana", "handler")  # signed up, but away
    call = new_call()
    twiml = call.start()
    assert twiml.find("Gather") is None and twiml.find("Enqueue") is None
    assert "no one is free to answer just now" in said(twiml)
    assert "call back later, or report online" in said(twiml)
    assert _outcome(app, call) == "no_handler"


def test_an_idle_handler_counts_as_away(app, new_call, clock):
    add_user(app, "hana", "handler")
    _set(app, "hana", AVAILABLE, clock.now - timedelta(minutes=31))  # idle after 30
    assert "no one is free" in said(new_call().start())


def test_a_queued_caller_is_told_when_the_last_handler_goes(app, new_call, hana_available, clock):
    call = new_call()
    walk(call)
    assert call.twiml.find("Enqueue") is not None
    assert "in the queue" in said(call.wait_in_queue())
    _set(app, "hana", AWAY, clock.now)
    told = call.wait_in_queue()
    assert "no one is free to answer now after all" in said(told)
    assert told.find("Leave") is not None
    goodbye = call.leave_queue("leave", queue_time=60)
    assert "report online at crimestoppers-uk.org" in said(goodbye)
    assert goodbye.find("Hangup") is not None
    assert _outcome(app, call) == "no_handler"


def _answered_calls(app, waits: list[int], now: datetime) -> None:  # type: ignore[no-untyped-def]
    with app.extensions["ivr.sessionmaker"]() as session:
        for i, seconds in enumerate(waits):
            answered = now - timedelta(minutes=5 + i)
            queued = answered - timedelta(seconds=seconds)
            session.add(
                Call(
                    call_key=f"k{i}",
                    line="helpline",
                    language="en",
                    step="queue",
                    status="ended",
                    # Started by the test's clock too ("lately" is by when a call started),
                    # not the machine's: today's calls are not "lately" on another day.
                    started_at=queued - timedelta(minutes=1),
                    queued_at=queued,
                    answered_at=answered,
                )
            )
        session.commit()


@pytest.mark.parametrize(
    ("waits", "sentence"),
    [
        ([120, 170, 400], "Lately, callers have waited about 3 minutes."),
        ([20, 30, 40], "Lately, callers have waited less than a minute."),
        ([60, 70, 80], "Lately, callers have waited about a minute."),
        ([700, 780, 800], "Lately, callers have waited about 15 minutes."),
        ([120, 180], None),  # two calls say nothing honest
    ],
)
def test_the_wait_message_says_how_long_callers_waited_lately(
    app, new_call, hana_available, clock, waits, sentence
):
    _answered_calls(app, waits, clock.now)
    call = new_call()
    walk(call)
    words = said(call.wait_in_queue())
    if sentence is None:
        assert "Lately" not in words
    else:
        assert sentence in words


def test_turned_away_calls_are_counted_as_such_in_the_figures(app, new_call, clock):
    from ivr.insight.figures import figures
    from ivr.insight.period import Period
    from ivr.models import utcnow

    clock.now = SUNDAY_NIGHT
    new_call().start()
    closed = new_call()
    closed.start()
    closed.hang_up()
    clock.now = TUESDAY_NOON  # open, but nobody available
    nobody = new_call()
    nobody.start()
    nobody.hang_up()
    # Around now, not date.today(): that is the machine's local day, not the figures' UTC
    # day (on a machine on UK time, the hour after midnight in summer counted nothing),
    # and a call made before midnight is not in the day after it.
    now = utcnow()
    with app.extensions["ivr.sessionmaker"]() as session:
        found = figures(session, Period(now - timedelta(days=1), now + timedelta(days=1)))
    assert (found.closed, found.no_handler, found.abandoned) == (2, 1, 0)
