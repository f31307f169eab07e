"""After an anonymous online report and a follow-up, served by real gunicorn workers,
no table, no database file and no log line holds the reporter's address or user agent
(the proxy's shipped configuration is checked in tests/production/)."""

from __future__ import annotations

import os
import re

import pytest
import requests
from cryptography.fernet import Fernet

from ivr.core.migrate import upgrade
from tests.conftest import AUTH_TOKEN
from tests.live_server import gunicorn
from tests.online.walk import ANSWERS
from tests.stored import everything_stored

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs /proc")

USER_AGENT = "Mozilla/5.0 (X11; Linux) ReporterBrowser/99.1 Gecko-UNIQUE-7731"
# What a client may claim about its address; a proxy that passed it on would log it.
CLAIMED_ADDRESS = "203.0.113.77"
NEEDLES = [USER_AGENT, "ReporterBrowser", "UNIQUE-7731", CLAIMED_ADDRESS]
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_an_online_report_and_follow_up_leave_no_address_or_user_agent(tmp_path, database_url):
    upgrade(database_url)
    env = {
        "DATABASE_URL": database_url,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "IVR_SECRET_KEY": "s" * 40,
        "IVR_CONTACT_KEY": Fernet.generate_key().decode(),
        "IVR_INSTANCE_DIR": str(tmp_path),
        "IVR_WEB_ENVIRONMENT": "development",  # plain HTTP on 127.0.0.1
        "PUBLIC_BASE_URL": "",
    }
    # gunicorn's access log, off in production (ivr/gunicorn_conf.py), asked for here:
    # its format, wherever it is used, must hold no address or user agent either.
    with gunicorn(env, workers=2, access_log=True) as server:
        base = server["url"]
        http = requests.Session()
        http.headers.update(
            {
                "User-Agent": USER_AGENT,
                "X-Forwarded-For": CLAIMED_ADDRESS,
                "X-Real-IP": CLAIMED_ADDRESS,
                "Forwarded": f"for={CLAIMED_ADDRESS}",
            }
        )

        def post(path: str, form: dict) -> requests.Response:  # type: ignore[type-arg]
            page = http.get(base + path, timeout=60)
            token = TOKEN.search(page.text).group(1)
            return http.post(base + path, data={**form, "csrf_token": token}, timeout=60)

        for slug, form in ANSWERS:
            assert post(f"/report/q/{slug}", form).status_code == 200
        done = post("/report/check", {})
        assert done.status_code == 200
        reference = re.search(r'id="reference">([^<]+)<', done.text).group(1)
        code = re.search(r'id="code">([^<]+)<', done.text).group(1).replace(" ", "")
        wrong = post("/report/follow-up", {"reference": reference, "code": "1" * 12})
        assert wrong.status_code == 400
        signed_in = post("/report/follow-up", {"reference": reference, "code": code})
        assert "Your report" in signed_in.text
        added = post("/report/follow-up/add", {"text": "He drives a blue van.", "confirmed": "1"})
        assert "will be checked" in added.text
    log = server["log"].read_text()
    assert "/report/follow-up/add" in log  # the access log, when asked for, shows paths…
    stored = everything_stored(database_url)
    assert "He drives a blue van." in stored  # …and the dump does see what was stored
    for needle in NEEDLES:
        assert needle not in log, f"{needle!r} in gunicorn's log"
        assert needle not in stored, f"{needle!r} in the database"
    # The client's own address (127.0.0.1) is in no access log line.
    for line in log.splitlines():
        if "/report" in line:
            assert "127.0.0.1" not in line, line
