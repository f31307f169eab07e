"""A force's question, the reporter's answer through PII review, and its delivery as an
update to the same destination: signed, exactly once, retried until acknowledged."""

from __future__ import annotations

import json

import jsonschema
import pytest
from sqlalchemy import select

from ivr.core.settings import PROJECT_ROOT
from ivr.models import ReportMessage, UpdateDelivery
from ivr.records import followup_messages as fm
from ivr.records.delivery import Deliverer
from ivr.records.review import approve
from ivr.records.update_delivery import UpdateDeliverer
from tests.records.conftest import delivery_settings, make_report, make_user, routes_to

SCHEMA = json.loads((PROJECT_ROOT / "schemas" / "update.schema.json").read_text())
FAST = delivery_settings(retry_base_seconds=60, retry_max_seconds=600, lease_seconds=300)


def _sent_report(session, sessions, routes, cipher, clock, forces=("kent",)):  # type: ignore[no-untyped-def]
    report = make_report(session, forces)
    supervisor = make_user(session)
    approve(session, report, supervisor, routes, now=clock())
    Deliverer(sessions, routes, cipher, FAST, clock).run_once()
    session.expire_all()
    return report, supervisor


def test_an_answer_reaches_the_force_that_asked_once_signed(
    sessions, session, forces, cipher, clock, force_server
):
    routes = routes_to(forces, {"kent": ("https", force_server.url)})
    report, supervisor = _sent_report(session, sessions, routes, cipher, clock)
    assert len(force_server.acknowledged) == 1  # the report itself
    question = fm.ask(session, report, supervisor, "Which day of the week?", "kent")
    session.commit()
    assert fm.open_questions(session, report.id) == 1
    answer = fm.from_reporter(session, report, "Usually Fridays.", question, route="online")
    session.commit()
    assert question.status == "answered" and answer.status == "submitted"
    assert fm.awaiting_review(session) == [answer]
    fm.approve(session, answer, supervisor, now=clock())
    session.commit()

    force_server.failures = 2
    updates = UpdateDeliverer(sessions, routes, cipher, FAST, clock)
    assert updates.run_once().failed == 1
    clock.advance(minutes=1)
    assert updates.run_once().failed == 1
    clock.advance(minutes=2)
    assert updates.run_once().delivered == 1
    clock.advance(hours=1)
    assert updates.run_once().delivered == 0  # exactly once
    update = force_server.records()[-1]
    jsonschema.validate(update, SCHEMA)
    assert update["reference"] == report.reference
    assert update["update"] == {
        "id": answer.id,
        "kind": "answer",
        "question": "Which day of the week?",
        "text": "Usually Fridays.",
        "approved_at": update["update"]["approved_at"],
    }
    keys = {r["key"] for r in force_server.received[1:]}
    assert len(keys) == 1  # every attempt carried the same idempotency key
    assert all(r["signature_ok"] for r in force_server.received)


def test_more_information_goes_to_every_force_the_report_went_to(
    sessions, session, forces, cipher, clock, force_server
):
    routes = routes_to(
        forces, {"kent": ("https", force_server.url), "essex": ("https", force_server.url)}
    )
    report, supervisor = _sent_report(session, sessions, routes, cipher, clock, ("kent", "essex"))
    added = fm.from_reporter(session, report, "He drives a blue van.", None, route="phone")
    session.commit()
    outbox = fm.approve(session, added, supervisor, now=clock())
    session.commit()
    assert sorted(row.force_id for row in outbox) == ["essex", "kent"]
    UpdateDeliverer(sessions, routes, cipher, FAST, clock).run_once()
    kinds = [r["update"]["kind"] for r in force_server.records() if "update" in r]
    assert kinds == ["addition", "addition"]


def test_an_anonymous_reporters_phone_number_is_refused_until_removed(
    sessions, session, forces, cipher, clock, force_server
):
    routes = routes_to(forces, {"kent": ("https", force_server.url)})
    report, supervisor = _sent_report(session, sessions, routes, cipher, clock)
    added = fm.from_reporter(session, report, "Ring me on 07911 123456.", None, route="online")
    session.commit()
    with pytest.raises(fm.MessageRefused, match="phone number"):
        fm.approve(session, added, supervisor)
    session.rollback()
    assert session.scalars(select(UpdateDelivery)).all() == []
    fm.approve(session, added, supervisor, text="Ring me.")
    session.commit()
    assert session.get(ReportMessage, added.id).text == "Ring me."


def test_only_a_supervisor_asks_and_only_of_a_sent_report(session, forces, clock):
    report = make_report(session)
    handler = make_user(session, role="handler")
    with pytest.raises(fm.MessageRefused):
        fm.ask(session, report, handler, "Why?", "kent")
    with pytest.raises(fm.MessageRefused, match="approved and sent"):
        fm.ask(session, report, make_user(session), "Why?", "kent")


def test_an_update_whose_lease_ran_out_is_recorded_once(
    sessions, session, forces, cipher, clock, force_server
):
    """Updates go through the report worker's claim and lease: a worker that outlived its
    lease records nothing, and another worker takes the update over."""
    routes = routes_to(forces, {"kent": ("https", force_server.url)})
    report, supervisor = _sent_report(session, sessions, routes, cipher, clock)
    question = fm.ask(session, report, supervisor, "Which day?", "kent")
    answer = fm.from_reporter(session, report, "Fridays.", question, route="online")
    fm.approve(session, answer, supervisor, now=clock())
    session.commit()
    slow, other = (UpdateDeliverer(sessions, routes, cipher, FAST, clock) for _ in range(2))
    claimed = slow.claim()
    assert claimed is not None and other.claim() is None  # leased: nobody else takes it
    clock.advance(seconds=FAST.lease_seconds + 1)
    assert other.claim() == claimed
    assert other.deliver(claimed) is True
    assert slow.deliver(claimed) is False
    with sessions() as s:
        row = s.get_one(UpdateDelivery, claimed)
        assert (row.state, row.attempts) == ("delivered", 1)
