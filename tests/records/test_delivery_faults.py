"""Deliveries under misbehaving forces: each attempt has an overall deadline, a bad
force never holds up another, a worker that lost its lease records nothing, and two
workers deliver each report once on SQLite as on PostgreSQL."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from ivr.core.settings import SettingsError, load_settings
from ivr.models import AuditEntry, Dissemination
from ivr.records.delivery import Deliverer
from ivr.records.review import approve
from ivr.sim.faults import BadForce, BadSmtp
from tests.records.conftest import delivery_settings, make_report, make_user, routes_to

QUICK = delivery_settings(timeout_seconds=2, lease_seconds=300, retry_base_seconds=60)


@pytest.fixture
def bad_force():  # type: ignore[no-untyped-def]
    servers = []

    def start(mode: str, **kwargs):  # type: ignore[no-untyped-def]
        server = BadForce(mode, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _row(sessions, report, force="kent"):  # type: ignore[no-untyped-def]
    with sessions() as s:
        return s.scalars(
            select(Dissemination).where(
                Dissemination.report_id == report.id, Dissemination.force_id == force
            )
        ).one()


@pytest.mark.parametrize("mode", ["drip", "hang"])
def test_a_force_answering_a_byte_at_a_time_fails_at_the_deadline(
    mode, sessions, session, forces, cipher, clock, bad_force
):
    force = bad_force(mode, drip_seconds=1.0, drip_for=30)
    routes = routes_to(forces, {"kent": ("https", force.url)})
    report = make_report(session)
    approve(session, report, make_user(session), routes, now=clock())
    worker = Deliverer(sessions, routes, cipher, QUICK, clock)
    started = time.monotonic()
    assert worker.run_once().failed == 1
    assert time.monotonic() - started < QUICK.timeout_seconds + 1.5
    row = _row(sessions, report)
    assert row.state == "pending"
    assert row.last_error == "no answer from kent within 2 s"


@pytest.mark.parametrize(("mode", "error"), [("redirect", "HTTP 302"), ("drop", "cannot reach")])
def test_redirects_and_dropped_connections_are_failures_kept_for_retry(
    mode, error, sessions, session, forces, cipher, clock, bad_force
):
    force = bad_force(mode)
    routes = routes_to(forces, {"kent": ("https", force.url)})
    report = make_report(session)
    approve(session, report, make_user(session), routes, now=clock())
    assert Deliverer(sessions, routes, cipher, QUICK, clock).run_once().failed == 1
    assert error in _row(sessions, report).last_error


@pytest.mark.parametrize("mode", ["drip", "hang"])
def test_an_smtp_server_that_stalls_fails_at_the_deadline(
    mode, sessions, session, forces, cipher, clock
):
    server = BadSmtp(mode, drip_seconds=1.0, drip_for=30).start()
    try:
        routes = routes_to(forces, {"kent": ("email", "psd@kent.example")})
        report = make_report(session)
        approve(session, report, make_user(session), routes, now=clock())
        settings = replace(QUICK, smtp_host="127.0.0.1", smtp_port=server.port)
        started = time.monotonic()
        assert Deliverer(sessions, routes, cipher, settings, clock).run_once().failed == 1
        assert time.monotonic() - started < settings.timeout_seconds + 1.5
        assert "no answer within 2 s" in _row(sessions, report).last_error
    finally:
        server.stop()


def test_a_hanging_force_never_delays_another(sessions, session, forces, cipher, clock, bad_force):
    hanging, healthy = bad_force("hang", drip_for=30), bad_force("ok")
    routes = routes_to(forces, {"kent": ("https", hanging.url), "essex": ("https", healthy.url)})
    user = make_user(session)
    for force in ("kent", "kent", "kent", "essex"):  # the healthy force's report comes last
        approve(session, make_report(session, (force,)), user, routes, now=clock())
    worker = Deliverer(sessions, routes, cipher, replace(QUICK, concurrency=2), clock)
    started = time.monotonic()
    done = worker.run_once()
    assert done.delivered == 1
    ((arrived, _key),) = healthy.log.requests
    assert arrived - started < 1.5  # not after the hanging force's deadline
    assert len(hanging.log.requests) == 1  # one kent at a time, then its back-off


def test_a_worker_that_lost_its_lease_records_nothing(
    sessions, session, forces, cipher, clock, force_server
):
    routes = routes_to(forces, {"kent": ("https", force_server.url)})
    report = make_report(session)
    approve(session, report, make_user(session), routes, now=clock())
    slow, other = (Deliverer(sessions, routes, cipher, QUICK, clock) for _ in range(2))
    claimed = slow.claim()
    clock.advance(seconds=QUICK.lease_seconds + 1)  # the slow worker's send outlived its lease
    assert other.claim() == claimed
    assert other.deliver(claimed) is True
    assert slow.deliver(claimed) is False  # sent (the force dedups by key), not recorded
    row = _row(sessions, report)
    assert (row.state, row.attempts) == ("delivered", 1)
    with sessions() as s:
        discloses = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "disclose")
        )
    assert discloses == 1


def test_two_workers_deliver_each_report_once_on_either_database(
    sessions, session, forces, cipher, clock, force_server
):
    routes = routes_to(forces, {"kent": ("https", force_server.url)})
    user = make_user(session)
    reports = [make_report(session) for _ in range(20)]
    for report in reports:
        approve(session, report, user, routes, now=clock())
    settings = replace(QUICK, concurrency=1)
    workers = [Deliverer(sessions, routes, cipher, settings, clock) for _ in range(2)]
    start = threading.Barrier(2)
    errors: list[Exception] = []

    def work(worker: Deliverer) -> None:
        try:
            start.wait()
            worker.run_once()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    keys = [r["key"] for r in force_server.acknowledged]
    assert len(keys) == len(set(keys)) == len(reports)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"delivery_lease_seconds": 20, "delivery_timeout_seconds": 20}, "delivery_lease_seconds"),
        ({"delivery_retry_max_seconds": 0}, "delivery_retry_max_seconds"),
        ({"delivery_timeout_seconds": 0}, "delivery_timeout_seconds"),
    ],
)
def test_settings_refuse_a_lease_shorter_than_an_attempt_and_no_retry_ceiling(
    overrides, named, settings_overrides
):
    with pytest.raises(SettingsError, match=named):
        load_settings(overrides={**settings_overrides, **overrides})
