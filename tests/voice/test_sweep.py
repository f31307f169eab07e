"""A call whose status callback never arrived (it failed, and Twilio does not retry)
is ended by the sweep after a set time without activity, and erased as an ended call
is: it leaves the handlers' queue and keeps no CallSid."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from ivr.core.db import get_session
from ivr.models import Call, CallStatus, utcnow
from ivr.voice.sweep import IN_FLOW_AFTER, OTHER_AFTER, sweep
from tests.conftest import start_in_english
from tests.voice.test_call_flow import walk_to_anonymity


def _rows(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        session = get_session()
        rows = list(session.scalars(select(Call).order_by(Call.id)))
        for row in rows:
            session.expunge(row)
        return rows


def _sweep_at(app, now):  # type: ignore[no-untyped-def]
    with app.app_context():
        return sweep(get_session(), now=now)


def test_idle_calls_are_ended_and_erased_as_a_status_callback_would(app, new_call):
    in_menus, queued, live = new_call(), new_call(), new_call()
    start_in_english(in_menus)
    walk_to_anonymity(queued)
    queued.press("1")
    start_in_english(live)
    now = utcnow()
    assert _sweep_at(app, now) == 0  # nothing is idle yet
    assert _sweep_at(app, now + IN_FLOW_AFTER + timedelta(minutes=1)) == 2  # menus: 2 calls
    rows = {row.status: row for row in _rows(app)}
    assert rows[CallStatus.QUEUED].live_call_sid is not None  # waiting is not idleness
    assert _sweep_at(app, now + OTHER_AFTER + timedelta(minutes=1)) == 1
    for row in _rows(app):
        assert row.status == CallStatus.ENDED
        assert row.live_call_sid is None and row.ended_at is not None
        assert row.call_key.startswith("ended-")


def test_ivr_sweep_says_how_many_it_ended(app, settings_overrides, monkeypatch):
    from ivr.cli import cli

    env = {
        "DATABASE_URL": settings_overrides["database_url"],
        "TWILIO_AUTH_TOKEN": settings_overrides["twilio_auth_token"],
        "IVR_SECRET_KEY": settings_overrides["secret_key"],
        "IVR_CONTACT_KEY": settings_overrides["contact_key"],
    }
    result = CliRunner(env=env).invoke(cli, ["sweep"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "ended 0 idle calls"
