"""Anonymity is absolute: after an anonymous call, nothing of the caller remains anywhere."""

from __future__ import annotations

import logging

from ivr.core.db import get_engine
from ivr.sim.walks import Answers, keys_to_queue
from tests.conftest import walk
from tests.stored import everything_stored

CALLER = "+447911123456"
TOWN = "Harrogate"
# The calling number in every format it could be written in, and the caller's town.
NEEDLES = [
    "+447911123456",
    "447911123456",
    "07911123456",
    "07911 123456",
    "7911123456",
    "7911 123456",
    "Harrogate",
    "HARROGATE",
    "harrogate",
]


def dump_database(app) -> str:  # type: ignore[no-untyped-def]
    """Every row of every table, as text: what the database answers today."""
    return everything_stored(get_engine(app), files=False)


def assert_no_trace(text: str) -> None:
    for needle in NEEDLES:
        assert needle not in text, f"{needle!r} found"


def test_anonymous_call_leaves_no_trace(app, new_call, stored_call, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    call = new_call(from_number=CALLER, from_city=TOWN)
    walk(call, to="force")  # an officer
    call.say("the Met")  # speech, read back
    call.press("1")  # confirm
    call.press("7")  # a wrong key at the category, logged as an event
    for key in keys_to_queue(Answers(urgent=True), start="category"):  # at risk, anonymous
        call.press(key)
    call.follow("/voice/wait", {"QueueTime": "400"})
    call.hang_up()
    row = stored_call(call)
    assert row.anonymous is True and row.urgent is True and row.status == "ended"

    dump = dump_database(app)
    assert "metropolitan" in dump and "risk" in dump  # the dump does see the call
    assert_no_trace(dump)
    assert call.call_sid not in dump  # erased once the call ended
    raw = everything_stored(get_engine(app))
    assert_no_trace(raw)
    assert_no_trace(caplog.text)
    out, err = capsys.readouterr()
    assert_no_trace(out + err)


def test_caller_hanging_up_mid_flow_leaves_no_trace(app, new_call, caplog):
    caplog.set_level(logging.DEBUG)
    call = new_call(from_number=CALLER, from_city=TOWN)
    walk(call, to="risk")
    call.hang_up()
    assert_no_trace(dump_database(app))
    assert_no_trace(caplog.text)


def test_forged_and_failing_requests_log_no_caller_details(app, new_call, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    forged = new_call(from_number=CALLER, from_city=TOWN)
    forged.auth_token = "wrong"
    assert forged.post("/voice/incoming")[0] == 403

    from ivr.voice.runtime import get_voice

    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"a bug that mentions {CALLER} and {TOWN}")

    call = new_call(from_number=CALLER, from_city=TOWN)
    walk(call, to="role")
    monkeypatch.setattr(get_voice(app).moves, "handle", broken)
    call.press("1")
    assert "webhook /voice/step/role failed with RuntimeError" in caplog.text
    for needle in ["+447911123456", "447911123456", "7911123456"]:
        assert needle not in caplog.text


def test_contact_number_given_by_choice_is_stored_only_encrypted(app, new_call, stored_call):
    call = new_call(from_number=CALLER, from_city=TOWN)
    walk(call, anonymous=False)  # …, leave the calling number, confirm
    row = stored_call(call)
    assert row.anonymous is False and row.contact_number_enc
    assert_no_trace(dump_database(app))
    assert_no_trace(everything_stored(get_engine(app)))


def test_log_redaction_masks_phone_numbers():
    from ivr.core.redaction import redact

    assert redact("call from +447911123456 ok") == "call from [number removed] ok"
    assert redact("dial 07911 123456 now") == "dial [number removed] now"
    assert redact("at 2026-11-28 16:42:33 call 12 step 3") == (
        "at 2026-11-28 16:42:33 call 12 step 3"
    )
    sid = "CA0123456789012345678901234567890a"
    assert redact(sid) == sid


def test_redaction_filter_masks_exception_messages():
    from ivr.core.redaction import RedactingFilter

    try:
        raise ValueError("number +447911123456")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, "f", 1, "failed", None, sys.exc_info())
    RedactingFilter().filter(record)
    assert "+447911123456" not in (record.exc_text or "")
    assert "[number removed]" in record.exc_text


def test_redaction_filter_is_on_the_root_handlers(app):
    from ivr.core.redaction import RedactingFilter

    root = logging.getLogger()
    assert root.handlers
    assert all(any(isinstance(f, RedactingFilter) for f in h.filters) for h in root.handlers)


def test_gunicorn_access_log_never_records_bodies_or_query_strings():
    from ivr import gunicorn_conf

    # None at all unless asked for: the journal would time each webhook to the second.
    assert gunicorn_conf.accesslog is None
    assert "%(U)s" in gunicorn_conf.access_log_format
    for leaky in ["%(r)s", "%(q)s", "%(f)s", "%(a)s", "%({"]:
        assert leaky not in gunicorn_conf.access_log_format
