"""During an outage no caller is hung up on: a queued caller keeps holding (the wait URL
answers without the database), a caller in the menus is asked to hold while we try
again and carries on where they were once the database is back; and every webhook
answers within the deadline whatever the database does."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

import pytest
from sqlalchemy import text

from ivr.core.db import get_engine
from ivr.sim.twilio import parse_twiml, spoken
from ivr.voice import outage, urls
from tests.conftest import start_in_english
from tests.voice.test_call_flow import walk_to_anonymity
from tests.voice.test_resilience import APOLOGY, assert_asked_to_hold, assert_final_apology


def said(twiml) -> str:  # type: ignore[no-untyped-def]
    return " ".join(spoken(twiml))


def test_a_queued_caller_keeps_holding_through_an_outage(app, new_call, break_database):
    call = new_call()
    walk_to_anonymity(call)
    call.press("1")
    assert "number 1 in the queue" in said(call.wait_in_queue(queue_time=30))
    break_database(app)
    held = call.wait_in_queue(queue_time=60)
    assert "stay on the line" in said(held)
    assert held.find("Hangup") is None and held.find("Leave") is None
    assert held.find("Pause") is not None  # then Twilio asks the wait URL again


def test_a_caller_in_the_menus_holds_and_carries_on_where_they_were(app, new_call, break_database):
    call = new_call()
    start_in_english(call)
    where = call.gather().get("action")
    break_database(app)
    assert_asked_to_hold(*call.post(where, {"Digits": "1"}))
    assert_asked_to_hold(*call.post("/voice/resume?try=1"), next_try=2)
    engine = get_engine(app)  # the database is back
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE calls_gone RENAME TO calls"))
    engine.dispose()
    status, body = call.post("/voice/resume?try=2")
    twiml = parse_twiml(status, body)
    assert APOLOGY not in said(twiml)
    # The same question again; its answer's URL (and the one silence goes to) carries
    # the tries so far, built by the URL helper beside the call's sequence number.
    path, _, query = where.partition("?")
    step_id, seq = path.rsplit("/", 1)[1], parse_qs(query)["seq"][0]
    again = urls.step(step_id, int(seq), tries=2)
    assert twiml.find("Gather").get("action") == again
    assert twiml.find("Redirect").text == again
    assert parse_qs(again.partition("?")[2]) == {"seq": [seq], "try": ["2"]}


def test_a_step_that_fails_every_time_ends_in_goodbye_not_a_loop(app, new_call, monkeypatch):
    from ivr.voice.runtime import get_voice

    call = new_call()
    start_in_english(call)

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug at this step")

    monkeypatch.setattr(get_voice(app).moves, "handle", broken)
    endings = []
    for _ in range(outage.RESUME_TRIES + 1):
        twiml = parse_twiml(*call.post(call.gather().get("action"), {"Digits": "1"}))
        endings.append(twiml.find("Hangup") is not None)
        if endings[-1]:
            break
        call.follow(twiml.find("Redirect").text)  # hold, then the question again
    assert endings == [False] * outage.RESUME_TRIES + [True]


def test_after_the_last_try_the_caller_hears_how_else_to_report(app, new_call, break_database):
    call = new_call()
    break_database(app)
    call.start()  # the welcome needs nothing stored
    assert_asked_to_hold(*call.post(call.gather().get("action"), {"Digits": "1"}))
    assert_asked_to_hold(*call.post("/voice/resume?try=1"), next_try=2)
    assert_asked_to_hold(*call.post("/voice/resume?try=2"), next_try=3)
    assert_final_apology(*call.post(f"/voice/resume?try={outage.RESUME_TRIES}"))


def test_a_caller_whose_first_ring_failed_is_taken_in_on_the_retry(new_call, stored_call):
    call = new_call()
    status, body = call.post("/voice/resume?try=1")  # the call was never stored
    twiml = parse_twiml(status, body)
    assert twiml.find("Gather") is not None
    # The welcome again, which stores nothing; the caller's first key stores the call.
    assert stored_call(call) is None
    call.post(twiml.find("Gather").get("action"), {"Digits": "1"})
    assert stored_call(call).step == "role"


def test_the_fallback_url_asks_the_caller_to_hold(new_call, break_database, app):
    break_database(app)
    call = new_call()
    assert_asked_to_hold(*call.post("/voice/fallback", {"ErrorCode": "11200"}))


def test_every_webhook_answers_within_the_deadline_whatever_the_work_does(
    app, new_call, monkeypatch
):
    from ivr.voice.runtime import get_voice

    call = new_call()
    start_in_english(call)
    monkeypatch.setattr(outage, "DEADLINE_SECONDS", 0.5)
    # Restored afterwards: the short deadline that follows a passed one is for this test.
    monkeypatch.setattr(outage._pool, "last_passed", outage._pool.last_passed)

    def hangs(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        time.sleep(3)  # a database that does not answer
        raise RuntimeError("gave up")

    monkeypatch.setattr(get_voice(app).moves, "handle", hangs)
    started = time.monotonic()
    assert_asked_to_hold(*call.post(call.gather().get("action"), {"Digits": "1"}))
    assert time.monotonic() - started < 2


def test_a_status_callback_that_fails_answers_quietly(app, new_call, break_database):
    call = new_call()
    start_in_english(call)
    break_database(app)
    status, body = call.hang_up()
    twiml = parse_twiml(status, body)
    assert twiml.tag == "Response" and list(twiml) == []


def test_a_retried_callers_first_ring_carries_the_tries_on_its_answer(new_call):
    call = new_call()
    twiml = parse_twiml(*call.post("/voice/resume?try=2"))  # the call was never stored
    action = twiml.find("Gather").get("action")
    assert parse_qs(action.partition("?")[2])["try"] == ["2"]
    assert twiml.find("Redirect").text == action


def test_the_step_url_names_the_tries_only_after_a_failure():
    assert urls.step("force", 3) == "/voice/step/force?seq=3"
    assert urls.step("force", 3, tries=2) == "/voice/step/force?seq=3&try=2"


@pytest.mark.parametrize("on", ["the session", "the step's own connection"])
def test_a_statement_the_database_never_answers_is_let_go_and_the_next_step_works(
    app, new_call, monkeypatch, on, caplog
):
    """On the worker's own thread (as in gunicorn's sync workers) the deadline interrupts
    a statement in flight; the request's connection is dropped, not rolled back on a
    server that does not answer, and the caller's next try finds the database again."""
    import signal
    import threading

    from ivr.core.db import get_session
    from ivr.voice import call_store
    from ivr.voice.runtime import get_voice

    assert threading.current_thread() is threading.main_thread()
    call = new_call()
    start_in_english(call)
    where = call.gather().get("action")
    monkeypatch.setattr(outage, "DEADLINE_SECONDS", 0.5)
    monkeypatch.setattr(outage._pool, "last_passed", outage._pool.last_passed)
    moves = get_voice(app).moves
    real_handle, real_load = moves.handle, call_store.load
    hang = "SELECT pg_sleep(5)" if get_engine(app).dialect.name == "postgresql" else None

    def stuck(connection):  # type: ignore[no-untyped-def]
        if hang:
            connection.execute(text(hang))  # in flight when the deadline passes
        else:
            time.sleep(5)  # SQLite's own waits end by its busy timeout; a sleep does not

    if on == "the session":
        monkeypatch.setattr(moves, "handle", lambda *a, **k: stuck(get_session()))
    else:
        monkeypatch.setattr(call_store, "load", lambda c, key: stuck(c) or real_load(c, key))
    started = time.monotonic()
    assert_asked_to_hold(*call.post(where, {"Digits": "1"}))
    assert time.monotonic() - started < 1.5
    # No alarm left to ring later, in Flask's or gunicorn's own code.
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is not outage._Timer.ring
    # Let go of, not reset: no rollback tried on the busy connection, which the pool
    # would log as an error, with a traceback, in the server's log.
    assert not [r for r in caplog.records if r.name.startswith("sqlalchemy")]

    monkeypatch.setattr(moves, "handle", real_handle)
    monkeypatch.setattr(call_store, "load", real_load)
    twiml = parse_twiml(*call.post("/voice/resume?try=1"))
    assert APOLOGY not in said(twiml) and "hold" not in said(twiml).lower()
    assert twiml.find("Gather") is not None


def test_a_ring_after_the_work_has_ended_is_ignored():
    outage._Timer.armed = False
    outage._Timer.ring(0, None)  # raises nothing: the work is over


def test_off_the_main_thread_the_work_runs_on_a_pool_thread_with_the_same_deadline(app):
    import threading

    from flask import request

    results: list[object] = []

    def off_main() -> None:
        with app.test_request_context("/voice/step/x", method="POST"):
            try:
                outage.within_deadline(lambda: time.sleep(3), seconds=0.3)
            except outage.DeadlinePassed as exc:
                results.append(exc)
            results.append(outage.within_deadline(lambda: request.path, seconds=2))

    started = time.monotonic()
    thread = threading.Thread(target=off_main)
    thread.start()
    thread.join(5)
    assert isinstance(results[0], outage.DeadlinePassed) and results[1] == "/voice/step/x"
    assert time.monotonic() - started < 2
