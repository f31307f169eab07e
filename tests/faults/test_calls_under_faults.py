"""Callers through real gunicorn workers while the database behind a TCP proxy is
killed, frozen, slowed or locked, and while workers are killed: every answer is 200
TwiML within 10 s, no caller is hung up on, no call is lost or recorded twice, and
gunicorn's log holds no traceback."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from ivr.core.db import normalise_url
from ivr.sim.fault_calls import ring_many, warm_up
from ivr.sim.faults import TcpProxy
from tests.conftest import AUTH_TOKEN
from tests.faults.ledger import lost_and_duplicated, snapshot
from tests.live_server import gunicorn, worker_pids

pytestmark = pytest.mark.postgres
SECRET = "f" * 40
CALLERS = 8


@pytest.fixture
def line(postgres_database, tmp_path) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    """gunicorn (3 workers) over PostgreSQL through a proxy the test controls."""
    from tests.conftest import _empty_postgres

    _empty_postgres(postgres_database)
    host_port = postgres_database.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    proxy = TcpProxy(host, int(port)).start()
    env = {
        "DATABASE_URL": postgres_database.replace(host_port, f"127.0.0.1:{proxy.port}"),
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "IVR_SECRET_KEY": SECRET,
        "IVR_CONTACT_KEY": Fernet.generate_key().decode(),
        "IVR_INSTANCE_DIR": str(tmp_path),
        "PUBLIC_BASE_URL": "",
        "IVR_QUEUE_PAUSE": "1",
    }
    try:
        with gunicorn(env, workers=3) as server:
            warm_up(server["url"] + "/", AUTH_TOKEN)
            yield {"server": server, "proxy": proxy, "database": postgres_database}
    finally:
        proxy.stop()


def _database_fault(mode: str, seconds: float, delay: float = 0.0):  # type: ignore[no-untyped-def]
    def make(line: dict) -> Callable[[], None]:
        def fault() -> None:
            time.sleep(0.5)
            line["proxy"].set_mode(mode, delay)
            time.sleep(seconds)
            line["proxy"].heal()

        return fault

    return make


def _lock_calls(seconds: float):  # type: ignore[no-untyped-def]
    def make(line: dict) -> Callable[[], None]:
        engine = create_engine(normalise_url(line["database"]))

        def fault() -> None:
            time.sleep(0.5)
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = 0"))
                conn.execute(text("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE"))
                time.sleep(seconds)
            engine.dispose()

        return fault

    return make


def _kill_workers(line: dict) -> Callable[[], None]:
    def fault() -> None:
        for _ in range(2):
            time.sleep(1.0)
            pids = worker_pids(line["server"]["process"].pid)
            if pids:
                os.kill(pids[0], signal.SIGKILL)

    return fault


@pytest.mark.parametrize(
    "make_fault",
    [
        pytest.param(_database_fault("kill", 4), id="database-killed"),
        pytest.param(_database_fault("freeze", 10), id="database-frozen"),
        pytest.param(_database_fault("slow", 6, 0.3), id="database-slowed"),
        pytest.param(_lock_calls(10), id="calls-table-locked"),
        pytest.param(_kill_workers, id="workers-killed"),
    ],
)
def test_callers_ride_out_the_fault(line, make_fault):  # type: ignore[no-untyped-def]
    before = snapshot(line["database"])
    run = ring_many(
        line["server"]["url"] + "/",
        AUTH_TOKEN,
        CALLERS,
        waits=2,
        pace=1.0,
        stagger=1.0,
        during=make_fault(line),
    )
    assert [c.why for c in run.hung_up] == []
    assert run.slowest < 10, run.slowest
    assert lost_and_duplicated(before, snapshot(line["database"]), run) == (0, 0)
    log = line["server"]["log"].read_text()
    assert "Traceback" not in log
