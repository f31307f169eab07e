"""The console's test-call page: a keypad driving a simulated call through the real
webhooks. The call is a test everywhere (is_test), shows as TEST in the queue, and
its report is never approved for a force; only the server can mark a call a test."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.core.routing import Routes
from ivr.models import Call, Dissemination, Report
from ivr.records.review import ReviewRefused, approve
from ivr.sim.walks import Answers, keys_to_queue, keys_until
from ivr.voice.marked_calls import TEST_FROM, is_test_call_sid, mint_call_sid
from tests.conftest import start_in_english, walk
from tests.console_helpers import (
    CONSOLE_SETTINGS,
    add_user,
    csrf_token,
    get_user,
    sign_in,
)

SECRET = "s" * 40  # conftest's secret_key


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, **CONSOLE_SETTINGS}


def _post(client, path, **form):
    token = csrf_token(client, "/console/test-call")
    return client.post(path, data={"csrf_token": token, **form})


def _page(client) -> str:
    return client.get("/console/test-call").get_data(as_text=True)


def _calls(app) -> list[Call]:
    with Session(get_engine(app)) as session:
        return list(session.scalars(select(Call)))


def test_a_minted_call_sid_is_a_test_and_a_twilio_one_is_not():
    sid = mint_call_sid(SECRET)
    assert re.fullmatch(r"CA[0-9a-f]{32}", sid)
    assert is_test_call_sid(SECRET, sid)
    assert not is_test_call_sid("t" * 40, sid)  # another server's secret
    assert not is_test_call_sid(SECRET, "CA" + "0" * 32)
    assert not is_test_call_sid(SECRET, sid[:-1] + ("0" if sid[-1] != "0" else "1"))


def test_a_call_from_twilio_is_never_a_test(app, new_call):
    call = new_call()
    start_in_english(call)
    assert [c.is_test for c in _calls(app)] == [False]


def test_a_supervisor_walks_a_test_call_to_the_queue(app, client):
    add_user(app, "sue", "supervisor")
    sign_in(client, "sue")
    assert "Ring the line" in _page(client)
    response = _post(client, "/console/test-call/start", number="+448000850000")
    assert response.status_code == 302
    page = _page(client)
    assert "English, 1." in page
    assert "at <strong>Choosing English or Welsh</strong>" in page
    for key in keys_until("force"):  # English, an officer
        _post(client, "/console/test-call/keys", keys=key)
    assert "at <strong>Which force</strong>" in _page(client)
    _post(client, "/console/test-call/say", words="the Met")
    page = _page(client)
    assert "Metropolitan" in page and "at <strong>Which force: name read back</strong>" in page
    # yes; then bribery, not urgent, anonymous
    for key in ("1", *keys_to_queue(start="category")):
        _post(client, "/console/test-call/keys", keys=key)
    page = _page(client)
    assert "In the queue" in page and "place 1" in page
    [call] = _calls(app)
    assert call.is_test and call.status == "queued" and call.force == "metropolitan"
    # The made-up calling number is nowhere; a test call is anonymous like any other.
    assert TEST_FROM not in str(call.answers)
    # The queue shows it as a test.
    add_user(app, "hana", "handler")
    handler = app.test_client()
    sign_in(handler, "hana")
    rows = handler.get("/console/queue/rows").get_data(as_text=True)
    assert "TEST" in rows
    # Hanging up ends it as Twilio would report it.
    _post(client, "/console/test-call/hang-up")
    [call] = _calls(app)
    assert call.status == "ended" and call.live_call_sid is None
    assert "Ring the line" in _page(client)


def test_keys_only_steps_refuse_words_and_silence_reprompts(app, client):
    add_user(app, "root", "admin")
    sign_in(client, "root")
    _post(client, "/console/test-call/start", number="+448000850000")
    for key in keys_until("force_london_south_east"):  # English, an officer, the regions, London
        _post(client, "/console/test-call/keys", keys=key)
    _post(client, "/console/test-call/silence")
    page = _page(client)
    assert "stayed silent" in page
    response = _post(client, "/console/test-call/say", words="hello")
    assert response.status_code == 302
    page = _page(client)
    assert "takes keys only" in page
    response = _post(client, "/console/test-call/keys", typed="12ab")
    assert "Keys are 0 to 9" in _page(client)


def test_a_handler_may_not_ring_a_test_call(app, client):
    add_user(app, "hana", "handler")
    sign_in(client, "hana")
    assert client.get("/console/test-call").status_code == 403
    assert client.post(
        "/console/test-call/start", data={"number": "+448000850000"}
    ).status_code in (
        400,
        403,
    )
    assert _calls(app) == []


def test_a_number_not_of_the_line_is_refused(app, client):
    add_user(app, "sue", "supervisor")
    sign_in(client, "sue")
    _post(client, "/console/test-call/start", number="+447911123456")
    assert "Choose one of the line" in _page(client)
    assert _calls(app) == []


def test_a_report_from_a_test_call_is_never_approved(app, client, settings_overrides):
    # Every force routed, so only the test mark can stop the approval.
    add_user(app, "sue", "supervisor")
    add_user(app, "hana", "handler")
    sign_in(client, "sue")
    _post(client, "/console/test-call/start", number="+448000850000")
    for key in keys_to_queue():  # the Met, not urgent, anonymous
        _post(client, "/console/test-call/keys", keys=key)
    [call] = _calls(app)
    assert call.is_test and call.status == "queued"
    handler = app.test_client()
    sign_in(handler, "hana")
    token = csrf_token(handler, "/console/queue")
    taken = handler.post(f"/console/queue/{call.id}/take", data={"csrf_token": token})
    assert "/console/reports/" in taken.headers["Location"]
    # Nothing rang: a test call is not Twilio's to redirect.
    assert app.extensions["ivr.voice.gateway"].requests == []
    with Session(get_engine(app), expire_on_commit=False) as session:
        report = session.scalars(select(Report)).one()
        report.status = "submitted"
        session.commit()
        routes = Routes.load(
            app.config["IVR_SETTINGS"],
            app.extensions["ivr.core"].forces,
            environ={
                "IVR_ROUTE_METROPOLITAN_URL": "http://127.0.0.1:9/met",
                "IVR_ROUTE_METROPOLITAN_SECRET": "k" * 32,
            },
        )
        with pytest.raises(ReviewRefused, match="test call"):
            approve(session, report, get_user(app, 1), routes)
        assert session.scalars(select(Dissemination)).all() == []
        assert session.get(Report, report.id).status == "submitted"
        # The same report from a real call would go.
        session.get(Call, call.id).is_test = False
        session.commit()
        assert len(approve(session, session.get(Report, report.id), get_user(app, 1), routes)) == 1


def test_a_test_call_never_keeps_a_real_caller_waiting(app, client, new_call):
    add_user(app, "sue", "supervisor")
    sign_in(client, "sue")
    _post(client, "/console/test-call/start", number="+448000850000")
    for key in keys_to_queue(Answers(urgent=True)):
        _post(client, "/console/test-call/keys", keys=key)
    assert "place 1" in _page(client)
    # A real caller (not urgent) arriving later is still number 1, and taken first.
    real = new_call()
    walk(real)
    said = " ".join(s.text or "" for s in real.wait_in_queue().iter("Say"))
    assert "number 1 in the queue" in said
    add_user(app, "hana", "handler")
    handler = app.test_client()
    sign_in(handler, "hana")
    token = csrf_token(handler, "/console/queue")
    handler.post("/console/queue/take-next", data={"csrf_token": token})
    taken = [c for c in _calls(app) if c.status == "answered"]
    assert [c.is_test for c in taken] == [False]
    # The test call waits on, still marked.
    rows = handler.get("/console/queue/rows").get_data(as_text=True)
    assert rows.count("TEST") == 1
