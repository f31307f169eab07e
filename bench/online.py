"""The online report under load, and what checking a follow-up code costs.

1. Pages under load: gunicorn (ivr.wsgi:app, `--workers`) on PostgreSQL; `--reporters`
   threads each walk the whole online report (start page, every question GET and
   POST, check answers, send) again and again for `--seconds`. Prints each request
   kind's p50/p95/p99 in ms and the throughput. The load generator runs on the same
   machine (and takes some of its CPU), so these are upper bounds.
2. The code check: argon2id verifications as `ivr.core.followup.check` does them
   (a wrong code against a real hash, and the decoy for an unknown reference).
3. The lock's arithmetic: guesses a reference can take in a year, and the odds.

    .venv/bin/python bench/online.py --database-url postgresql://postgres@127.0.0.1:5432/test
Never a pass/fail: figures for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.core import followup  # noqa: E402
from ivr.core.db import normalise_url  # noqa: E402
from ivr.core.migrate import upgrade  # noqa: E402
from tests.live_server import gunicorn  # noqa: E402

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
WALK = [
    ("risk_now", {"risk_now": "no"}),
    ("force", {"force": "kent"}),
    ("role", {"role": "officer"}),
    ("categories", {"categories": ["bribery"]}),
    ("what", {"what": "An officer sold the names of witnesses to a local gang. " * 5}),
    ("when_text", {"when_text": "spring 2024"}),
    ("where", {"where": "Maidstone"}),
    ("subject", {"subject_name": "PC Smith"}),
    ("how_known", {"how_known": "saw"}),
    ("anonymous", {"anonymous": "yes"}),
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def reporter(base: str, stop: threading.Event, timings: dict[str, list[float]], errors: list[str]):
    def timed(kind: str, send, url: str, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        response = send(url, **kwargs)
        timings[kind].append((time.perf_counter() - started) * 1000)  # list.append: atomic
        if response.status_code >= 400:
            errors.append(f"{kind} {response.status_code}")
        return response

    while not stop.is_set():
        http = requests.Session()
        timed("GET start", http.get, f"{base}/report/")
        for slug, form in WALK:
            if stop.is_set():
                return
            page = timed("GET question", http.get, f"{base}/report/q/{slug}")
            token = TOKEN.search(page.text).group(1)
            data = {**form, "csrf_token": token}
            url = f"{base}/report/q/{slug}"
            timed("POST answer", http.post, url, data=data, allow_redirects=False)
        check = timed("GET check", http.get, f"{base}/report/check")
        token = TOKEN.search(check.text).group(1)
        timed("POST send", http.post, f"{base}/report/check", data={"csrf_token": token})


def load(database_url: str, reporters: int, seconds: float, workers: int) -> None:
    instance = tempfile.mkdtemp()
    env = {
        "DATABASE_URL": database_url,
        "TWILIO_AUTH_TOKEN": "bench-token-0123456789",
        "IVR_SECRET_KEY": "b" * 40,
        "IVR_CONTACT_KEY": Fernet.generate_key().decode(),
        "IVR_INSTANCE_DIR": instance,
        "IVR_WEB_ENVIRONMENT": "development",  # plain http on 127.0.0.1: cookies not Secure
        "PUBLIC_BASE_URL": "",
    }
    # The rate limits are for the public; the bench is one "reporter" fifty times over.
    engine = create_engine(normalise_url(database_url))
    timings: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    with gunicorn(env, workers=workers, log_path=Path(instance) / "gunicorn.log") as server:
        stop = threading.Event()

        def refill() -> None:
            while not stop.wait(1):
                with engine.begin() as conn:
                    conn.execute(text("UPDATE rate_buckets SET tokens = 1000"))

        threads = [threading.Thread(target=refill, daemon=True)]
        threads += [
            threading.Thread(target=reporter, args=(server["url"], stop, timings, errors))
            for _ in range(reporters)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        elapsed = time.monotonic() - started
    with engine.connect() as conn:
        sent = conn.execute(text("SELECT count(*) FROM reports WHERE origin = 'online'")).scalar()
    engine.dispose()
    everything = [t for values in timings.values() for t in values]
    print(f"\n{reporters} reporters, {workers} gunicorn workers, {seconds:.0f} s, "
          f"load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print(f"{'request':<14}{'count':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for kind, values in sorted(timings.items()):
        print(
            f"{kind:<14}{len(values):>8}{statistics.median(values):>9.1f}"
            f"{percentile(values, 0.95):>9.1f}{percentile(values, 0.99):>9.1f}"
        )
    print(
        f"{'all':<14}{len(everything):>8}{statistics.median(everything):>9.1f}"
        f"{percentile(everything, 0.95):>9.1f}{percentile(everything, 0.99):>9.1f}"
    )
    print(f"{len(everything) / elapsed:.0f} requests/s; {sent} reports sent; {len(errors)} errors")
    if errors:
        print("errors:", sorted(set(errors))[:10])


def code_check(rounds: int) -> None:
    real = followup.HASHER.hash(followup.new_code())
    wrong = followup.new_code()
    for label, hashed in (
        ("wrong code", real),
        ("unknown reference (decoy)", followup._DECOY_HASH),
    ):
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            followup._verify(hashed, wrong)
            times.append((time.perf_counter() - started) * 1000)
        print(
            f"argon2id check, {label}: median {statistics.median(times):.0f} ms, "
            f"p95 {percentile(times, 0.95):.0f} ms, min {min(times):.0f} ms ({rounds} checks)"
        )
    params = followup.HASHER
    print(
        f"parameters: argon2id, memory {params.memory_cost // 1024} MiB, "
        f"{params.time_cost} passes, {params.parallelism} lane"
    )


def lock_math() -> None:
    per_year = followup.guesses_per_year()
    print(
        f"lock: {followup.MAX_FAILURES} wrong codes lock a reference for {followup.LOCK_FOR}; "
        f"at most {per_year:,} guesses per reference per year against "
        f"10^{followup.CODE_DIGITS} codes: odds {followup.guessing_odds_per_year():.1e} "
        f"per reference per year (target < 1e-6)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--reporters", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--checks", type=int, default=20)
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} at the start ({os.cpu_count()} CPUs)")
    code_check(args.checks)
    lock_math()
    if args.skip_load:
        return
    # A database of its own on the server, dropped afterwards.
    admin = create_engine(normalise_url(args.database_url), isolation_level="AUTOCOMMIT")
    name = f"bench_online_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.database_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        load(url, args.reporters, args.seconds, args.workers)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
