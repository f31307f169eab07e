"""The app under real gunicorn workers: a worker killed mid-call loses no call."""

from __future__ import annotations

import os
import signal
import time

import pytest
from cryptography.fernet import Fernet

from ivr.core.migrate import upgrade
from ivr.sim.twilio import SimulatedCall, spoken
from tests.conftest import AUTH_TOKEN, walk
from tests.live_server import gunicorn, http_post, worker_pids

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs /proc")


@pytest.fixture
def server_env(tmp_path, database_url):  # type: ignore[no-untyped-def]
    return {
        "DATABASE_URL": database_url,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "IVR_SECRET_KEY": "s" * 40,
        "IVR_CONTACT_KEY": Fernet.generate_key().decode(),
        "IVR_CALLS_CHECK_STAFFING": "false",
        "IVR_INSTANCE_DIR": str(tmp_path),
        "PUBLIC_BASE_URL": "",
    }


def test_a_worker_killed_mid_call_loses_no_call(server_env, tmp_path):
    upgrade(server_env["DATABASE_URL"])
    with gunicorn(server_env, workers=2, access_log=True) as server:
        call = SimulatedCall(
            transport=http_post,
            auth_token=AUTH_TOKEN,
            base_url=server["url"] + "/",
            from_number="+447911123456",
            from_city="Harrogate",
        )
        walk(call, to="category")  # an officer, the Met
        # Kill every worker: gunicorn starts new ones, which know nothing in memory.
        for pid in worker_pids(server["process"].pid):
            os.kill(pid, signal.SIGKILL)
        time.sleep(1.0)
        call.press("1")  # bribery
        twiml = call.press("2")  # nobody at risk
        assert "Stay anonymous" in " ".join(spoken(twiml))
        for key in ["1"]:
            twiml = call.press(key)
        assert twiml.find("Enqueue") is not None
        call.hang_up()
    log = server["log"].read_text()
    assert "POST /voice/step/risk" in log  # the access log, when asked for, shows paths…
    for needle in ["7911", "Harrogate", "seq="]:  # …never numbers, towns or query strings
        assert needle not in log
