"""A new call is answered without a write: the welcome depends on nothing stored. The
call is stored by its first step, or, for a caller who hangs up during the welcome, by
the status callback; so every call is in the figures and the call log, and nothing of
the caller is kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from ivr.core.db import get_session
from ivr.insight.call_log import call_log
from ivr.insight.figures import figures
from ivr.insight.period import Period
from ivr.models import Call, CallEvent, utcnow
from ivr.models.erasure import TwilioErasure
from ivr.sim.twilio import spoken


def _calls(app) -> list[Call]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(get_session().scalars(select(Call)))


def _count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return int(get_session().scalar(select(func.count()).select_from(model)) or 0)


def test_the_welcome_stores_nothing(app, new_call):
    call = new_call()
    twiml = call.start()
    assert twiml.find("Gather").get("action") == "/voice/step/language?seq=1"
    assert _count(app, Call) == 0
    assert _count(app, CallEvent) == 0


def test_the_first_step_stores_the_call_as_the_orm_would_store_it(app, new_call):
    call = new_call()
    call.start()
    twiml = call.press("1")  # English
    assert twiml.find("Gather").get("action") == "/voice/step/role?seq=2"
    [stored] = _calls(app)
    assert (stored.line, stored.language, stored.step, stored.status) == (
        "helpline",
        "en",
        "role",
        "in_flow",
    )
    assert stored.seq == 2
    assert stored.tries == 0
    assert stored.answers == {}
    assert stored.urgent is False
    assert stored.is_test is False
    assert stored.started_at is not None
    assert stored.live_call_sid == call.call_sid
    assert stored.call_key != call.call_sid
    with app.app_context():
        [event] = get_session().scalars(select(CallEvent))
    assert (event.call_id, event.seq, event.step, event.outcome) == (
        stored.id,
        1,
        "language",
        "chose",
    )


def test_the_next_step_works_on_the_stored_call(app, new_call):
    call = new_call()
    call.start()
    call.press("1")  # English
    twiml = call.press("1")  # an officer
    assert call.path == "/voice/step/role"
    assert "Which force?" in " ".join(spoken(twiml))
    [stored] = _calls(app)
    assert stored.seq == 3
    assert stored.step == "force"


def test_a_retried_incoming_request_changes_nothing(app, new_call):
    call = new_call()
    first = call.post("/voice/incoming")
    call.start()
    call.press("1")  # English
    call.press("1")
    retried = call.post("/voice/incoming")
    # The welcome again (it reads nothing); answered, it says where the caller is.
    assert first == retried
    status, body = call.post("/voice/step/language?seq=1", {"Digits": "1"})
    assert "seq=3" in body
    assert _count(app, Call) == 1


def test_a_caller_who_hangs_up_during_the_welcome_is_counted(app, new_call):
    call = new_call()
    call.start()
    call.post("/voice/status", call_status="ringing")  # not the end: nothing stored
    assert _count(app, Call) == 0
    call.hang_up(duration=7)
    [stored] = _calls(app)
    assert (stored.status, stored.outcome, stored.abandoned_step) == (
        "ended",
        "abandoned",
        "language",
    )
    # Nothing that could join it to Twilio's record, and nothing of the caller.
    assert stored.live_call_sid is None
    assert stored.call_key.startswith("ended-")
    assert stored.started_at.minute == stored.started_at.second == 0
    with app.app_context():
        row = get_session().execute(select(Call.__table__)).one()
    assert not any(call.from_number[-6:] in str(value) for value in row)
    assert not any(call.from_city in str(value) for value in row)
    assert _count(app, TwilioErasure) == 1  # Twilio's own record is deleted too
    # In the figures and the call log like any abandoned call.
    now = utcnow()
    with app.app_context():
        session = get_session()
        counted = figures(session, Period(now - timedelta(days=1), now + timedelta(days=1)))
        logged = call_log(session)
    assert (counted.calls, counted.abandoned, counted.abandoned_by_step) == (
        1,
        1,
        {"language": 1},
    )
    assert len(logged.rows) == 1


def test_a_repeated_final_status_callback_counts_nothing_twice(app, new_call):
    """Promise 4: a duplicate callback creates no duplicate. The ended call's key is gone,
    so the repeat is known by the erasure outbox's digest of the CallSid."""
    during_welcome = new_call()
    during_welcome.start()
    assert during_welcome.hang_up(duration=7)[0] == 200
    assert during_welcome.hang_up(duration=7)[0] == 200
    after_a_step = new_call()
    after_a_step.start()
    after_a_step.press("1")
    after_a_step.hang_up()
    after_a_step.hang_up()
    assert _count(app, Call) == 2
    assert _count(app, TwilioErasure) == 2
    with app.app_context():
        digests = get_session().scalars(select(TwilioErasure.call_sid_digest)).all()
    # A digest, never the CallSid itself.
    assert all(d and len(d) == 64 for d in digests)
    assert during_welcome.call_sid not in digests


def test_a_first_step_that_comes_after_the_end_stores_nothing(app, new_call):
    """Promise 4 again: a first-step request answered after the final status callback (a
    Twilio retry, or a request held behind others while the caller hung up) found no
    call by its key, replaced at the end, and stored the call a second time, left in
    the menus for the sweep to end and count again. The end's erasure request says the
    call has ended."""
    during_welcome = new_call()
    during_welcome.start()
    during_welcome.hang_up(duration=7)
    status, body = during_welcome.post("/voice/step/language?seq=1", {"Digits": "1"})
    assert status == 200
    assert "<Gather" not in body  # nobody is there to hear the next question
    after_a_step = new_call()
    after_a_step.start()
    after_a_step.press("1")
    after_a_step.hang_up()
    assert after_a_step.post("/voice/step/language?seq=1", {"Digits": "1"})[0] == 200
    with app.app_context():
        statuses = get_session().scalars(select(Call.status)).all()
    assert statuses == ["ended", "ended"]


def test_a_call_ended_after_its_first_step_is_counted_once(app, new_call):
    call = new_call()
    call.start()
    call.press("1")
    call.hang_up()
    assert _count(app, Call) == 1
    [stored] = _calls(app)
    assert (stored.outcome, stored.abandoned_step) == ("abandoned", "role")


def test_a_step_is_one_read_and_one_write(app, new_call):
    """After the first, a step is a SELECT and one write: on PostgreSQL a single statement
    (the versioned UPDATE with the event's INSERT), on SQLite the two in one transaction;
    no ping, no second read (a lost race alone reads again)."""
    from sqlalchemy import event

    from ivr.core.db import get_engine

    call = new_call()
    call.start()
    call.press("1")
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement.split(None, 1)[0].upper())

    engine = get_engine(app)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        call.press("1")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    expected = (
        ["SELECT", "WITH"]
        if engine.dialect.name == "postgresql"
        else ["SELECT", "UPDATE", "INSERT"]
    )
    assert statements == expected
