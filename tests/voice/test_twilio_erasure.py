"""No trace left at Twilio: after a call ends, its Call resource is deleted at Twilio
(through Twilio's own REST client, against a fake of its API on 127.0.0.1), retried
while Twilio refuses (20009) or is down, and nothing of the CallSid stays with us."""

from __future__ import annotations

import logging
import socket
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ivr import create_app
from ivr.core.db import get_engine
from ivr.core.runtime import get_core
from ivr.models import TwilioErasure
from ivr.sim.twilio import SimulatedCall, flask_transport
from ivr.voice.twilio_erasure import FIRST_TRY_AFTER, Eraser, ErasureSettings
from tests.conftest import AUTH_TOKEN, walk
from tests.voice.fake_twilio_rest import PointedHttpClient, fake_twilio
from tests.voice.test_anonymity import dump_database

ACCOUNT = "AC" + "a1" * 16


class Clock:
    """A simulated clock: the test moves it, the worker reads it."""

    def __init__(self) -> None:
        self.now = datetime.now().astimezone()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def _eraser(app, base_url: str, clock: Clock) -> Eraser:  # type: ignore[no-untyped-def]
    return Eraser(
        app.extensions["ivr.sessionmaker"],
        get_core(app).cipher,
        ErasureSettings(ACCOUNT, AUTH_TOKEN, retry_base_seconds=60, retry_max_seconds=3600),
        http_client=PointedHttpClient(base_url),
        clock=clock,
    )


def _outbox(app) -> list[TwilioErasure]:  # type: ignore[no-untyped-def]
    with app.extensions["ivr.sessionmaker"]() as session:
        return list(session.scalars(select(TwilioErasure)))


def _queued_and_ended(new_call, **answers):  # type: ignore[no-untyped-def]
    call = new_call()
    walk(call, **answers)
    assert call.twiml.find("Enqueue") is not None
    call.hang_up()
    return call


def test_the_call_is_deleted_at_twilio_after_it_ends_and_nothing_of_it_stays(app, new_call):
    call = _queued_and_ended(new_call)  # nobody at risk, anonymous
    (row,) = _outbox(app)
    assert call.call_sid not in dump_database(app)  # kept only encrypted
    clock = Clock()
    with fake_twilio(ACCOUNT) as twilio:
        twilio.calls[call.call_sid] = "completed"
        eraser = _eraser(app, twilio.base_url, clock)
        # Twilio asks for a minute at least after the call's end: nothing yet.
        assert eraser.run_once().erased == 0
        assert twilio.requests == []
        clock.advance(seconds=FIRST_TRY_AFTER.total_seconds())
        done = eraser.run_once()
    assert done.erased == 1
    assert twilio.deleted == [call.call_sid]
    assert twilio.requests == [
        ("DELETE", f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{call.call_sid}.json")
    ]
    assert _outbox(app) == []
    assert call.call_sid not in dump_database(app)


def test_a_call_twilio_has_not_finished_with_is_tried_again_later(app, new_call):
    call = _queued_and_ended(new_call)
    clock = Clock()
    with fake_twilio(ACCOUNT) as twilio:
        twilio.calls[call.call_sid] = "in-progress"  # Twilio answers 20009
        eraser = _eraser(app, twilio.base_url, clock)
        clock.advance(minutes=2)
        assert eraser.run_once().failed == 1
        (row,) = _outbox(app)
        assert row.attempts == 1 and row.last_error == "Twilio 400 error 20009"
        assert call.call_sid not in row.last_error
        clock.advance(seconds=30)
        assert eraser.run_once().failed == 0  # not due again yet: back-off
        assert len(twilio.requests) == 1
        twilio.calls[call.call_sid] = "completed"
        clock.advance(seconds=31)
        assert eraser.run_once().erased == 1
    assert twilio.deleted == [call.call_sid]
    assert _outbox(app) == []


def test_twilio_down_for_an_hour_delays_the_erasure_and_loses_nothing(app, new_call, caplog):
    caplog.set_level(logging.INFO)
    call = _queued_and_ended(new_call)
    clock = Clock()
    clock.advance(minutes=2)
    with fake_twilio(ACCOUNT) as twilio:
        twilio.calls[call.call_sid] = "completed"
        twilio.down = True
        eraser = _eraser(app, twilio.base_url, clock)
        for _ in range(60):  # the worker looks every minute for an hour
            assert eraser.run_once().erased == 0
            clock.advance(minutes=1)
        # Doubling from a minute: 6 tries in the hour, not 60.
        assert len(twilio.requests) == 6
        (row,) = _outbox(app)
        assert row.last_error == "Twilio 503 error 20503"
        assert call.call_sid not in dump_database(app)
        twilio.down = False
        for _ in range(60):  # back within the longest wait, an hour
            if eraser.run_once().erased:
                break
            clock.advance(minutes=1)
    assert twilio.deleted == [call.call_sid]
    assert _outbox(app) == []
    assert call.call_sid not in caplog.text


def test_twilio_unreachable_is_tried_again(app, new_call):
    call = _queued_and_ended(new_call)
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    clock = Clock()
    clock.advance(minutes=2)
    assert _eraser(app, f"http://127.0.0.1:{port}", clock).run_once().failed == 1
    (row,) = _outbox(app)
    assert row.last_error.startswith("Twilio unreachable") and call.call_sid not in row.last_error


def test_a_caller_who_left_a_number_is_erased_at_twilio_all_the_same(app, new_call, stored_call):
    call = new_call()
    walk(call, anonymous=False, contact="07912345678")  # a number to call, confirmed
    assert call.twiml.find("Enqueue") is not None
    call.hang_up()
    assert stored_call(call).contact_number_enc is not None  # the number they chose to leave
    clock = Clock()
    clock.advance(minutes=2)
    with fake_twilio(ACCOUNT) as twilio:
        twilio.calls[call.call_sid] = "completed"
        assert _eraser(app, twilio.base_url, clock).run_once().erased == 1
    assert twilio.deleted == [call.call_sid]
    assert call.call_sid not in dump_database(app)


def test_a_call_twilio_does_not_know_counts_as_erased(app, new_call):
    _queued_and_ended(new_call)
    clock = Clock()
    clock.advance(minutes=2)
    with fake_twilio(ACCOUNT) as twilio:  # deleted already (404)
        assert _eraser(app, twilio.base_url, clock).run_once().erased == 1
    assert _outbox(app) == []


def test_the_setting_turns_it_off(settings_overrides):
    app = create_app({**settings_overrides, "twilio_erase_calls": False})
    client = app.test_client()
    call = SimulatedCall(flask_transport(client), AUTH_TOKEN, "http://localhost/")
    walk(call)
    call.hang_up()
    with app.extensions["ivr.sessionmaker"]() as session:
        assert session.scalar(select(func.count()).select_from(TwilioErasure)) == 0
    get_engine(app).dispose()


def _cli_env(monkeypatch, database_url: str) -> None:  # type: ignore[no-untyped-def]
    from cryptography.fernet import Fernet

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("IVR_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("IVR_CONTACT_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("IVR_INSTANCE_DIR", "/nonexistent")
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)


def test_the_worker_command_without_an_account_sid_says_so_in_one_line(monkeypatch, database_url):
    from click.testing import CliRunner

    from ivr.cli import cli

    _cli_env(monkeypatch, database_url)
    result = CliRunner().invoke(cli, ["erase-calls", "--once"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: TWILIO_ACCOUNT_SID is not set: calls cannot be deleted"
    ]
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    result = CliRunner().invoke(cli, ["erase-calls", "--once"])  # nothing due: nothing sent
    assert result.exit_code == 0, result.output
