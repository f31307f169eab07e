"""Claims are a compare-and-set: a delivery taken by another worker between this
worker's read and its write is not claimed twice (two `ivr deliver` on SQLite sent 10
of 40 reports twice); and a worker's sending threads hand a database error to the
worker's loop (one line) instead of dying with a traceback."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from ivr.records.delivery import Deliverer
from ivr.records.review import approve
from tests.records.conftest import make_report, make_user, routes_to
from tests.records.test_delivery_faults import QUICK


def test_a_delivery_taken_between_read_and_write_is_claimed_once(
    sessions, session, forces, cipher, clock, force_server
):
    routes = routes_to(forces, {"kent": ("https", force_server.url)})
    approve(session, make_report(session), make_user(session), routes, now=clock())
    other = Deliverer(sessions, routes, cipher, QUICK, clock)
    raced: dict[str, object] = {}

    def racing_sessions():  # type: ignore[no-untyped-def]
        s = sessions()
        execute = s.execute

        def execute_then_let_the_other_worker_in(statement, *args, **kwargs):  # type: ignore[no-untyped-def]
            result = execute(statement, *args, **kwargs)
            if getattr(statement, "is_select", False) and "other" not in raced:
                frozen = result.freeze()
                raced["other"] = other.claim()  # in its own session, committed
                return frozen()
            return result

        s.execute = execute_then_let_the_other_worker_in  # type: ignore[method-assign]
        return s

    mine = Deliverer(racing_sessions, routes, cipher, QUICK, clock).claim()  # type: ignore[arg-type]
    claimed = [c for c in (mine, raced["other"]) if c is not None]
    assert len(claimed) == 1  # one worker has it, never both


def test_a_database_error_in_a_sending_thread_reaches_the_worker_loop(
    sessions, forces, cipher, clock, monkeypatch
):
    routes = routes_to(forces, {})
    worker = Deliverer(sessions, routes, cipher, QUICK, clock)

    def database_away(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(worker, "claim", database_away)
    with pytest.raises(OperationalError):
        worker.run_once()
