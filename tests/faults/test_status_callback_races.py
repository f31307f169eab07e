"""Two identical final status callbacks at the same instant, for a call never stored (the
caller hung up during the welcome, which writes nothing): promise 4, a duplicate
callback creates no duplicate. Two threads, each with its own client of the app, on
one real database (a SQLite file, or PostgreSQL), each request on its own connection.

The interleaving that counted the call twice is forced, not hoped for: both requests
are let through the "already seen?" check before either stores the call, then the
second waits until the first has ended the call (its key replaced, so the second's
INSERT met no conflict). With the claim (ivr/voice/twilio_erasure.py, `claim`) the
second never gets that far: it finds the call claimed, and the pacing gives up after a
second."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from ivr.core.db import get_session
from ivr.models import Call, TwilioErasure
from ivr.sim.twilio import SimulatedCall, flask_transport
from ivr.voice import new_calls
from tests.conftest import AUTH_TOKEN

URL = "http://localhost/"


def _stored(app) -> tuple[list[str], int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = get_session()
        statuses = list(session.scalars(select(Call.status)))
        erasures = int(session.scalar(select(func.count()).select_from(TwilioErasure)) or 0)
    return statuses, erasures


def _pace_new_calls(monkeypatch: pytest.MonkeyPatch, one_answered: threading.Event) -> None:
    """Hold each request that is about to store a new call until both have reached that
    point (a second at most), then keep the later one until a request has been answered
    (the earlier one: the later is held): the interleaving that counted a call twice.
    (The views run on the webhook pool's threads, ivr/voice/outage.py, not the clients'.)"""
    original: Callable = new_calls.new_call
    both_there = threading.Barrier(2, timeout=1)
    arrivals = iter(range(2))
    lock = threading.Lock()

    def paced(params):  # type: ignore[no-untyped-def]
        with lock:
            later = next(arrivals) == 1
        # Broken: the other request never came this far (it found the call claimed).
        with contextlib.suppress(threading.BrokenBarrierError):
            both_there.wait()
        if later:
            one_answered.wait(timeout=10)
        return original(params)

    monkeypatch.setattr(new_calls, "new_call", paced)


def test_two_final_callbacks_at_once_store_the_call_once(app, monkeypatch):
    sid = "CA" + "5" * 32
    # Two clients of the app, as two gunicorn workers would take the two requests.
    callers = [
        SimulatedCall(flask_transport(app.test_client()), AUTH_TOKEN, URL, call_sid=sid)
        for _ in range(2)
    ]
    callers[0].start()  # the welcome: nothing stored
    assert _stored(app) == ([], 0)

    one_answered = threading.Event()
    answers: list[tuple[int, str]] = []
    at_once = threading.Barrier(2)

    def hang_up(caller: SimulatedCall) -> None:
        at_once.wait()
        try:
            answers.append(caller.hang_up(duration=7))
        finally:
            one_answered.set()

    _pace_new_calls(monkeypatch, one_answered)
    _each_in_a_thread(hang_up, callers)

    assert [status for status, _ in answers] == [200, 200]
    # One call, ended (none left in the menus for the sweep to end and count again),
    # and one request to erase it at Twilio.
    assert _stored(app) == (["ended"], 1)


def test_two_final_callbacks_at_once_for_a_stored_call_end_it_once(app, caplog):
    """A call its first step stored: the copy that finds the call claimed does nothing
    and says nothing (it used to lose the versioned save and log a StaleDataError)."""
    sid = "CA" + "6" * 32
    callers = [
        SimulatedCall(flask_transport(app.test_client()), AUTH_TOKEN, URL, call_sid=sid)
        for _ in range(2)
    ]
    callers[0].start()
    callers[0].press("1")  # stored
    at_once = threading.Barrier(2)
    answers: list[tuple[int, str]] = []

    def hang_up(caller: SimulatedCall) -> None:
        at_once.wait()
        answers.append(caller.hang_up(duration=7))

    _each_in_a_thread(hang_up, callers)

    assert [status for status, _ in answers] == [200, 200]
    assert _stored(app) == (["ended"], 1)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def _each_in_a_thread(hang_up, callers) -> None:  # type: ignore[no-untyped-def]
    threads = [threading.Thread(target=hang_up, args=(caller,)) for caller in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
