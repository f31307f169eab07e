"""Retention: after its period, nothing of an erased item remains in any table (or file)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from ivr.models import AuditEntry, Call, CallEvent, Report
from ivr.records.retention import BATCH, purge
from tests.records.conftest import make_report
from tests.stored import everything_stored

PHONE = "+447700900777"


def make_call(session, clock, key, days_ago, marker, cipher):
    call = Call(
        call_key=key,
        line="anti-corruption",
        language="en",
        step="category",
        answers={"force": "kent", "note": f"{marker}-answer"},
        force="kent",
        category="bribery",
        outcome="abandoned",
        abandoned_step="category",
        status="ended",
        contact_number_enc=cipher.encrypt(PHONE),
        last_request_key=f"{marker}-request",
        started_at=clock() - timedelta(days=days_ago),
    )
    call.events = [
        CallEvent(seq=i, step="category", outcome="chose", value=f"{marker}-event-{i}")
        for i in range(3)
    ]
    session.add(call)
    session.commit()
    return call


def everything(sessions) -> str:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return everything_stored(session.get_bind(), files=False)


def sqlite_files(database_url: str) -> bytes:
    path = Path(make_url(database_url).database)
    files = [path, path.with_name(path.name + "-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def test_after_the_period_nothing_of_the_erased_items_remains(
    database_url, sessions, session, clock, cipher
):
    old = make_call(session, clock, "old-callkey-marker", 100, "old", cipher)
    recent = make_call(session, clock, "recent-callkey", 5, "recent", cipher)
    reported = make_call(session, clock, "reported-callkey", 100, "reported", cipher)
    make_report(session, call_id=reported.id, status="disseminated")
    contact = {"name": "Sam Marker-Contact", "phone": PHONE}
    expired = make_report(
        session,
        anonymous=False,
        contact=contact,
        cipher=cipher,
        updated_at=clock() - timedelta(days=400),
        status="disseminated",
    )
    kept = make_report(session, anonymous=False, contact=contact, cipher=cipher)
    with sessions() as s:
        expired_token = s.get(Report, expired.id).contact_enc
        old_call_token = s.get(Call, old.id).contact_number_enc
    erased = [
        "old-callkey-marker",
        "old-answer",
        "old-request",
        "old-event-0",
        expired_token.decode(),
        old_call_token.decode(),
    ]
    # The scan sees them while they exist (so its silence afterwards means something).
    before = everything(sessions)
    assert all(item in before for item in erased)
    if database_url.startswith("sqlite"):
        # Written into the database file itself, as weeks of use would have done.
        with sessions() as s, s.get_bind().connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        raw = sqlite_files(database_url)
        assert all(item.encode() in raw for item in erased)

    done = purge(session, call_days=90, contact_days=365, now=clock())

    assert (done.calls, done.events, done.contacts) == (1, 3, 1)
    after = everything(sessions)
    for item in erased:
        assert item not in after, item
    if database_url.startswith("sqlite"):
        raw = sqlite_files(database_url)
        for item in erased:
            assert item.encode() not in raw, item

    with sessions() as s:
        # What the figures count stays; the call's identifiers and answers are gone.
        call = s.get(Call, old.id)
        assert (call.force, call.outcome, call.abandoned_step) == ("kent", "abandoned", "category")
        assert call.answers == {} and call.contact_number_enc is None
        assert call.details_erased_at is not None
        # Calls still within the period, or that made a report, keep their events.
        for kept_call in (recent, reported):
            count = select(func.count()).where(CallEvent.call_id == kept_call.id)
            assert s.scalar(count) == 3
        assert s.get(Report, expired.id).contact_enc is None
        assert s.get(Report, expired.id).contact_erased_at is not None
        assert s.get(Report, kept.id).contact_enc is not None
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "erase")).all()
        assert {(e.record_type, e.record_id) for e in entries} == {
            ("call", None),
            ("report", expired.reference),
        }
        call_entry = next(e for e in entries if e.record_type == "call")
        assert call_entry.detail["call_ids"] == [old.id]

    # A second run finds nothing more to do.
    again = purge(session, call_days=90, contact_days=365, now=clock())
    assert (again.calls, again.contacts) == (0, 0)


def test_a_reports_call_loses_its_contact_number_with_the_report(session, clock, cipher):
    call = make_call(session, clock, "k1", 500, "c", cipher)
    report = make_report(
        session,
        anonymous=False,
        contact={"phone": PHONE},
        cipher=cipher,
        call_id=call.id,
        updated_at=clock() - timedelta(days=400),
    )
    purge(session, call_days=90, contact_days=365, now=clock())
    session.expire_all()
    assert session.get(Call, call.id).contact_number_enc is None
    assert session.get(Report, report.id).contact_enc is None
    # The call made a report: its events stay with it.
    assert session.scalar(select(func.count()).where(CallEvent.call_id == call.id)) == 3


def test_a_dry_run_erases_nothing(session, clock, cipher):
    call = make_call(session, clock, "k2", 500, "d", cipher)
    done = purge(session, call_days=90, contact_days=365, now=clock(), dry_run=True)
    assert done.calls == 1
    session.expire_all()
    assert session.get(Call, call.id).details_erased_at is None
    assert session.scalar(select(func.count()).where(CallEvent.call_id == call.id)) == 3


def test_nothing_is_erased_before_its_period(session, clock, cipher):
    make_call(session, clock, "k3", 89, "e", cipher)
    assert purge(session, call_days=90, contact_days=365, now=clock()).calls == 0


def test_a_dry_run_counts_what_the_run_then_erases_past_one_batch(session, clock):
    """One more expired call than a batch, two events each: the dry run used to say
    BATCH calls and 0 events, and the real run then erased BATCH + 1 calls and their events."""
    started = clock() - timedelta(days=100)
    session.execute(
        insert(Call),
        [
            {
                "call_key": f"batch-{n}",
                "line": "anti-corruption",
                "language": "en",
                "step": "category",
                "status": "ended",
                "outcome": "abandoned",
                "started_at": started,
            }
            for n in range(BATCH + 1)
        ],
    )
    ids = session.scalars(select(Call.id)).all()
    session.execute(
        insert(CallEvent),
        [
            {"call_id": call_id, "seq": seq, "step": "category", "outcome": "chose"}
            for call_id in ids
            for seq in range(2)
        ],
    )
    session.commit()

    would = purge(session, call_days=90, contact_days=365, now=clock(), dry_run=True)
    assert session.scalar(select(func.count()).select_from(CallEvent)) == 2 * (BATCH + 1)
    done = purge(session, call_days=90, contact_days=365, now=clock())

    assert (would.calls, would.events) == (BATCH + 1, 2 * (BATCH + 1))
    assert (done.calls, done.events) == (would.calls, would.events)
    assert sorted(would.call_ids) == sorted(done.call_ids)
    assert session.scalar(select(func.count()).select_from(CallEvent)) == 0
