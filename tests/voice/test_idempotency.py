"""Twilio retries and duplicate callbacks change nothing twice."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from ivr.core.db import get_session
from ivr.models import Call, CallEvent
from ivr.sim.twilio import parse_twiml, spoken
from tests.conftest import walk


def count(app, model, **where) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        query = select(func.count()).select_from(model).filter_by(**where)
        return get_session().scalar(query)


def test_retried_incoming_creates_one_call(app, new_call):
    call = new_call()
    first = call.post("/voice/incoming", idempotency_token="tok-1")
    second = call.post("/voice/incoming", idempotency_token="tok-1")
    assert first == second
    assert count(app, Call) == 0  # the welcome stores nothing; the first step does
    action = call.start().find("Gather").get("action")
    third = call.post(action, {"Digits": "1"}, idempotency_token="tok-2")
    fourth = call.post(action, {"Digits": "1"}, idempotency_token="tok-2")
    assert third == fourth
    assert count(app, Call) == 1
    assert count(app, CallEvent) == 1


def test_retried_step_is_applied_once(app, new_call, stored_call):
    call = new_call()
    walk(call, to="force")
    action = call.gather().get("action")
    first = call.post(action, {"Digits": "#"}, idempotency_token="tok-a")
    # Twilio retries with the same token; a proxy might replay with a new one.
    second = call.post(action, {"Digits": "#"}, idempotency_token="tok-a")
    third = call.post(action, {"Digits": "#"}, idempotency_token="tok-b")
    assert first == second == third
    assert stored_call(call).tries == 1
    assert count(app, CallEvent, step="force") == 1


def test_stale_request_changes_nothing(new_call, stored_call):
    call = new_call()
    walk(call, to="force_region")
    old_action = call.gather().get("action")
    call.press("1")  # London and the South East
    status, body = call.post(old_action, {"Digits": "#"})
    twiml = parse_twiml(status, body)
    assert " ".join(spoken(twiml)).startswith("the Met, 1;")
    row = stored_call(call)
    assert row.step == "force_london_south_east" and row.force is None


def test_same_key_twice_at_a_new_prompt_is_a_new_answer(new_call, stored_call):
    call = new_call()
    walk(call, to="risk")
    call.press("5")
    call.press("5")
    assert stored_call(call).tries == 2


def test_duplicate_requests_at_once_apply_once(app, new_call, stored_call):
    call = new_call()
    walk(call, to="force")
    action = call.gather().get("action")
    results = []

    def send() -> None:
        results.append(call.post(action, {"Digits": "#"}))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(status == 200 for status, _ in results)
    assert stored_call(call).tries == 1
    assert count(app, CallEvent, step="force") == 1


def test_concurrent_duplicate_incoming_creates_one_call(app, new_call):
    call = new_call()
    results = []

    def send() -> None:
        results.append(call.post("/voice/incoming"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in results] == [200] * 4
    assert all("<Gather" in body for _, body in results)
    assert count(app, Call) == 0  # the welcome stores nothing
    # The first step stores the call: four at once make one call, one step applied.
    action = call.start().find("Gather").get("action")
    results.clear()

    def press() -> None:
        results.append(call.post(action, {"Digits": "1"}))

    threads = [threading.Thread(target=press) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in results] == [200] * 4
    assert all("/voice/step/role?seq=2" in body for _, body in results)
    assert count(app, Call) == 1
    assert count(app, CallEvent) == 1
