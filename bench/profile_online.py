"""Where an online report page's time goes, served in this process (no HTTP server,
no other reporter): wall time and this process's CPU per request kind, and with
--profile, cProfile of the pages (the send's argon2id hash left out, it would drown
them). What wall time has beyond CPU is waiting, nearly all on the database.

    .venv/bin/python bench/profile_online.py                     # PostgreSQL, 20 walks
    .venv/bin/python bench/profile_online.py --walks 5 --profile

The same walk as bench/online.py, through Flask's test client.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent))
from online import KINDS, SEND, TOKEN, WALK  # noqa: E402
from webhooks import postgres_database  # noqa: E402

from ivr import create_app  # noqa: E402
from ivr.core.migrate import upgrade  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--walks", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with postgres_database(args.database_url) as url:
        upgrade(url)
        os.environ["IVR_INSTANCE_DIR"] = tempfile.mkdtemp()  # not the worktree's keys
        app = create_app(
            {
                "database_url": url,
                "secret_key": "p" * 40,
                "contact_key": Fernet.generate_key().decode(),
                "environment": "development",
                "twilio_auth_token": "profile-token-0123456789",
            }
        )
        wall: dict[str, list[float]] = defaultdict(list)
        cpu: dict[str, list[float]] = defaultdict(list)
        profile = cProfile.Profile()

        def timed(kind: str, send: Any, path: str, **kwargs: Any) -> str:
            profiling = args.profile and kind != SEND
            started, used = time.perf_counter(), time.process_time()
            if profiling:
                profile.enable()
            response = send(path, **kwargs)
            if profiling:
                profile.disable()
            wall[kind].append((time.perf_counter() - started) * 1000)
            cpu[kind].append((time.process_time() - used) * 1000)
            assert response.status_code < 400, (kind, response.status_code)
            return str(response.get_data(as_text=True))

        for n in range(args.walks + 1):  # the first walk warms up, and is not counted
            if n == 1:
                wall.clear()
                cpu.clear()
            client = app.test_client()
            timed("GET start", client.get, "/report/")
            for slug, form in WALK:
                page = timed("GET question", client.get, f"/report/q/{slug}")
                data = {**form, "csrf_token": TOKEN.search(page).group(1)}  # type: ignore[union-attr]
                timed("POST answer", client.post, f"/report/q/{slug}", data=data)
            page = timed("GET check", client.get, "/report/check")
            data = {"csrf_token": TOKEN.search(page).group(1)}  # type: ignore[union-attr]
            timed(SEND, client.post, "/report/check", data=data)
    print(f"{'request':<14}{'count':>7}{'wall p50 ms':>13}{'CPU p50 ms':>12}{'waiting':>9}")
    for kind in KINDS:
        w, c = statistics.median(wall[kind]), statistics.median(cpu[kind])
        print(f"{kind:<14}{len(wall[kind]):>7}{w:>13.1f}{c:>12.1f}{w - c:>9.1f}")
    if args.profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
