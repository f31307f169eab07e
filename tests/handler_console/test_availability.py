"""Handlers say whether they can answer; taking a call makes them busy, signing out away;
supervisors see who can answer and the queue's longest wait."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from ivr.core.availability import answerers_available
from ivr.models import User, utcnow
from tests.console_helpers import CONSOLE_SETTINGS, add_user, csrf_token, queue_a_caller, sign_in


@pytest.fixture
def settings_overrides(settings_overrides):  # type: ignore[no-untyped-def]
    return {**settings_overrides, **CONSOLE_SETTINGS}


def _state(app, name: str) -> str:  # type: ignore[no-untyped-def]
    with app.extensions["ivr.sessionmaker"]() as session:
        return session.scalar(select(User.availability).where(User.username == name))


def _available(app) -> int:  # type: ignore[no-untyped-def]
    with app.extensions["ivr.sessionmaker"]() as session:
        return answerers_available(session, utcnow(), timedelta(minutes=30))


def _say(client, state: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/console/queue")
    return client.post("/console/availability", data={"csrf_token": token, "state": state})


def test_a_handler_is_away_until_they_say_available(app, client):
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    assert _state(app, "hana") == "away" and _available(app) == 0
    page = client.get("/console/queue").get_data(as_text=True)
    assert 'id="my-availability">away<' in page
    assert _say(client, "available").status_code == 302
    assert _state(app, "hana") == "available" and _available(app) == 1
    _say(client, "away")
    assert _available(app) == 0


def test_taking_a_call_makes_the_handler_busy_and_signing_out_away(app, client, new_call):
    queue_a_caller(new_call)
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    _say(client, "available")
    client.post(
        "/console/queue/take-next", data={"csrf_token": csrf_token(client, "/console/queue")}
    )
    assert _state(app, "hana") == "busy" and _available(app) == 0
    _say(client, "available")
    client.post("/console/logout", data={"csrf_token": csrf_token(client, "/console/queue")})
    assert _state(app, "hana") == "away"


def test_going_idle_makes_a_handler_away(app, client):
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    _say(client, "available")
    with app.extensions["ivr.sessionmaker"]() as session:
        session.execute(update(User).values(availability_at=utcnow() - timedelta(minutes=31)))
        session.commit()
    assert _available(app) == 0  # still "available" as set, but idle
    client.get("/console/queue/rows")  # the page's own refresh is not a sign of life
    assert _available(app) == 0
    client.get("/console/queue")  # a person at the console again
    assert _available(app) == 1


def test_a_refused_state_is_one_clear_line(app, client):
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    page = client.get(_say(client, "asleep").location).get_data(as_text=True)
    assert "Choose available or away." in page
    assert _state(app, "hana") == "away"


def test_supervisors_see_who_can_answer_and_the_longest_wait(app, client, new_call):
    queue_a_caller(new_call)
    add_user(app, "hana", "handler")
    add_user(app, "sue", "supervisor")
    hana = app.test_client()
    sign_in(hana, "hana")
    _say(hana, "available")
    sign_in(client, "sue")
    page = client.get("/console/queue").get_data(as_text=True)
    assert "Who can answer" in page
    assert "<td>hana</td><td>handler</td><td>available</td>" in page
    assert "<td>sue</td><td>supervisor</td><td>away</td>" in page
    assert 'id="longest-wait">0 min' in page
    # A handler sees their own state, not everyone's.
    assert "Who can answer" not in hana.get("/console/queue").get_data(as_text=True)
