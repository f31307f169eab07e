"""No caller input kept in clear outside its answer, and nothing kept after a call that
could be matched to the phone company's record of it (ivr/voice/call_end.py)."""

from __future__ import annotations

from sqlalchemy import text

from ivr.core.db import get_engine
from ivr.voice.door import call_key
from tests.conftest import start_in_english, walk

TYPED = "02079460000"
SAID = "Kent. I live at 12 Acacia Avenue, ring me on 07700 900123"


def _everything(app) -> str:
    """Every value of every row of the call tables, as text."""
    with get_engine(app).connect() as conn:
        rows = [
            *conn.execute(text("SELECT * FROM calls")),
            *conn.execute(text("SELECT * FROM call_events")),
        ]
    return "\n".join(repr(tuple(row)) for row in rows)


def _walk_to_anonymity(call) -> None:  # type: ignore[no-untyped-def]
    walk(call, to="anonymity")  # an officer, the Met, bribery, no risk


def test_a_number_typed_then_abandoned_is_not_kept_in_clear(app, new_call):
    call = new_call()
    walk(call, to="contact_number", anonymous=False, contact=TYPED)  # leave a number
    call.press(TYPED)  # read back, waiting for the confirmation
    kept = _everything(app)
    for fragment in (TYPED, TYPED[1:], "2079460000"):
        assert fragment not in kept
    call.hang_up()  # abandoned at the confirmation
    kept = _everything(app)
    assert "2079460000" not in kept


def test_words_said_at_the_force_question_are_not_kept_in_clear(app, new_call, stored_call):
    call = new_call()
    walk(call, to="force")  # a force by name
    call.say(SAID)
    kept = _everything(app)
    for fragment in ("Acacia", "acacia", "900123", "07700"):
        assert fragment not in kept, fragment
    row = stored_call(call)
    assert row is not None and len(row.last_request_key or "") == 64


def test_an_ended_call_cannot_be_found_or_matched_by_time(app, new_call, stored_call):
    call = new_call()
    _walk_to_anonymity(call)
    call.press("1")  # anonymous: queued
    call.leave_queue("hangup", queue_time=47)
    call.hang_up(duration=133)
    row = stored_call(call)
    assert row is not None and row.status == "ended"
    secret = app.config["IVR_SETTINGS"].secret_key
    kept = _everything(app)
    assert call_key(secret, call.call_sid) not in kept  # the key no longer finds it
    assert call.call_sid not in kept
    assert row.call_key.startswith("ended-") and len(row.call_key) == 64
    assert row.last_request_key is None and row.last_idempotency_token is None
    for moment in (row.started_at, row.queued_at, row.ended_at):
        assert moment is not None
        assert (moment.minute, moment.second, moment.microsecond) == (0, 0, 0), moment
    assert (row.duration_seconds, row.queue_seconds) == (130, 45)  # the histogram's steps
    with get_engine(app).connect() as conn:
        times = conn.execute(
            text("SELECT at FROM call_events WHERE call_id = :id"), {"id": row.id}
        ).scalars()
        assert all(":00:00" in str(at) for at in times)


def test_two_ended_calls_get_different_keys(app, new_call, stored_call):
    ended = []
    for _ in range(2):
        call = new_call()
        start_in_english(call)
        call.hang_up()
        ended.append(stored_call(call).call_key)
    assert ended[0] != ended[1]


def test_ended_calls_keep_no_order_of_their_starts(app, new_call, stored_call):
    # The phone company's record lists a line's calls in the order they came, to the
    # second: ids (or step events' ids) given in sequence would rank a call among those
    # of its hour, which finds its record as well as its start time would.
    calls = []
    for _ in range(8):  # ids in sequence are in order; random ones in 1 of 8! cases
        call = new_call()
        walk(call, to="category")  # stored, with step events
        call.hang_up()
        calls.append(stored_call(call))
    ids = [row.id for row in calls]
    assert ids != sorted(ids)
    with get_engine(app).connect() as conn:
        firsts = [
            conn.execute(
                text("SELECT MIN(id) FROM call_events WHERE call_id = :id"), {"id": row.id}
            ).scalar_one()
            for row in calls
        ]
    assert firsts != sorted(firsts)
