"""How long a failed sign-in takes, by kind of failure: they should not differ.

    .venv/bin/python bench/sign_in_timing.py [--rounds 20] [--database-url URL]

For each round, in turn: an unknown name, a wrong password, a locked account with the
right password, a disabled account with the right password. Each is one POST to
/console/login through the app (test client: no network), timed end to end. Prints the
median and the 10th and 90th percentiles of each, and how far apart the medians are.
The pause after a failure is kept in the database, so it does not show here (and no
worker waits); the back-off is set to 0 so that the wrong-password account can be
tried again at once.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from ivr import create_app
from ivr.core.db import get_engine
from ivr.core.migrate import upgrade
from ivr.models import User
from ivr.staff.accounts import create_user, set_active

PASSWORD = "bench password that is long"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        app = create_app(
            {
                "database_url": url,
                "twilio_auth_token": "bench-token",
                "secret_key": "b" * 40,
                "contact_key": Fernet.generate_key().decode(),
                "login_failure_delay_ms": 0,
                "login_max_failures": 10**6,  # the wrong-password account never locks
            }
        )
        with Session(get_engine(app)) as session:
            for name in ("real", "locked", "disabled"):
                create_user(session, f"bench-{name}", "handler", PASSWORD)
            session.flush()
            locked = session.query(User).filter_by(username="bench-locked").one()
            locked.locked_until = datetime(2999, 1, 1, tzinfo=UTC)
            disabled = session.query(User).filter_by(username="bench-disabled").one()
            set_active(session, disabled, False)
            session.commit()
        cases = {
            "unknown name": ("nobody-here", PASSWORD),
            "wrong password": ("bench-real", "not the password at all"),
            "locked, right password": ("bench-locked", PASSWORD),
            "disabled, right password": ("bench-disabled", PASSWORD),
        }
        client = app.test_client()
        token = _TOKEN.search(client.get("/console/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        times: dict[str, list[float]] = {case: [] for case in cases}
        for _ in range(args.rounds):
            for case, (name, password) in cases.items():
                began = time.perf_counter()
                response = client.post(
                    "/console/login",
                    data={"username": name, "password": password, "csrf_token": token},
                )
                times[case].append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, (case, response.status_code)
        engine = get_engine(app)
        print(f"{args.rounds} rounds on {engine.dialect.name}; each a failed sign-in, in ms:")
        medians = {}
        for case, samples in times.items():
            ordered = sorted(samples)
            medians[case] = statistics.median(samples)
            p10 = ordered[max(0, int(len(ordered) * 0.1) - 1)]
            p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
            print(f"  {case:26} median {medians[case]:7.1f}   p10 {p10:7.1f}   p90 {p90:7.1f}")
        spread = max(medians.values()) - min(medians.values())
        print(f"  medians differ by at most {spread:.1f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
