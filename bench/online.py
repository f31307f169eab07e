"""The online report under load, and what checking a follow-up code costs.

1. Pages under load: gunicorn (ivr.wsgi:app, `--workers` sync workers, as `ivr serve`)
   on PostgreSQL, in a database of its own. `--reporters` reporters each walk the
   whole online report again and again for `--seconds`: the start page, then for each
   of the ten questions its page (GET) and the answer (POST, whose redirect is the
   next GET), the check page, the send. A reporter reads and types: between
   getting a page and posting it (and after the start and the done page) it thinks
   for a time drawn uniformly from `--think` (default 2-5 s; seeded by `--seed`, so
   every run draws the same times). `--think 0` is the saturation figure: no pause,
   every reporter always waiting on the server. Reporters start spread over the
   first think time, not all at once.

   Prints each request kind's p50/p95/p99 as the reporter saw them (connection and
   queueing included) and as the server spent them (gunicorn's access log), the
   pages overall, and the send on its own line: it hashes the new follow-up code
   with argon2id (64 MiB, 3 passes) by design, ~150 ms of CPU. Also the load average
   at the start and end and its peak, and the CPU that the generator (this process:
   asyncio + aiohttp, one thread) and the gunicorn workers used.

   The submission limit is national (30 a minute, ivr/online/pages.py): fifty
   reporters sending every minute or so exceed it, so the bench refills the buckets
   every second. The pages still take their tokens (one UPDATE each).
2. The code check: argon2id verifications as `ivr.core.followup.check` does them
   (a wrong code against a real hash, and the decoy for an unknown reference).
3. The lock's arithmetic: guesses a reference can take in a year, and the odds.

    .venv/bin/python bench/online.py                        # 50 reporters, 2-5 s think
    .venv/bin/python bench/online.py --think 0 --seconds 30 # saturation
Never a pass/fail: figures for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet
from sqlalchemy import Engine, create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.core import followup  # noqa: E402
from ivr.core.db import normalise_url  # noqa: E402
from ivr.core.migrate import upgrade  # noqa: E402
from tests.live_server import gunicorn, worker_pids  # noqa: E402

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
WALK = [
    ("risk_now", {"risk_now": "no"}),
    ("force", {"force": "kent"}),
    ("role", {"role": "officer"}),
    ("categories", {"categories": "bribery"}),
    ("what", {"what": "An officer sold the names of witnesses to a local gang. " * 5}),
    ("when_text", {"when_text": "spring 2024"}),
    ("where", {"where": "Maidstone"}),
    ("subject", {"subject_name": "PC Smith"}),
    ("how_known", {"how_known": "saw"}),
    ("anonymous", {"anonymous": "yes"}),
]
SEND = "POST send"
# A reporter pauses on the start page, each question, the check page and the done page.
PAUSES = len(WALK) + 3
KINDS = ["GET start", "GET question", "POST answer", "GET check", SEND]
# gunicorn's access log line (ivr/gunicorn_conf.py): "GET /report/q/what" 200 1234 5ms
ACCESS = re.compile(r'"(GET|POST) (/report\S*)" (\d+) \S+ (\d+)ms')


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


class Stop(Exception):
    """The window is over: the reporter asks for nothing more."""


class Run:
    """What the reporters saw: times by request kind, errors, and when to stop. A request
    asked for within the window is counted however long it takes to answer."""

    def __init__(self, base: str, think: tuple[float, float], since: float, until: float) -> None:
        self.base = base
        self.think = think
        self.since = since
        self.until = until
        self.timings: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.lag: list[float] = []

    def running(self) -> bool:
        return time.monotonic() < self.until

    async def pause(self, rng: random.Random) -> None:
        if self.think[1] > 0:
            wanted = rng.uniform(*self.think)
            await asyncio.sleep(max(0.0, min(wanted, self.until - time.monotonic())))

    async def timed(self, http: aiohttp.ClientSession, kind: str, method: str, path: str,
                    data: dict[str, str] | None = None) -> str:  # fmt: skip
        if not self.running():
            raise Stop
        counted = time.monotonic() >= self.since  # not while reporters are still arriving
        started = time.perf_counter()
        async with http.request(method, self.base + path, data=data, allow_redirects=False) as r:
            body = await r.text()
        if counted:
            self.timings[kind].append((time.perf_counter() - started) * 1000)
            if r.status >= 400:
                self.errors.append(f"{kind} {r.status}")
        return body


async def reporter(run: Run, rng: random.Random, ramp: float) -> None:
    # Reporters arrive spread over the ramp, as people do, not all at the same instant
    # (fifty walks in step would send fifty reports in the same second).
    await asyncio.sleep(rng.uniform(0, ramp))
    try:
        while True:
            await walk(run, rng)
    except Stop:
        pass


async def walk(run: Run, rng: random.Random) -> None:
    # A new browser each time: its own cookie jar (unsafe: the server is an IP address).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await run.timed(http, "GET start", "GET", "/report/")
        await run.pause(rng)  # reads the promise and the 999 advice
        for slug, form in WALK:
            page = await run.timed(http, "GET question", "GET", f"/report/q/{slug}")
            await run.pause(rng)  # reads the question, types the answer
            data = {**form, "csrf_token": TOKEN.search(page).group(1)}  # type: ignore[union-attr]
            await run.timed(http, "POST answer", "POST", f"/report/q/{slug}", data)
        page = await run.timed(http, "GET check", "GET", "/report/check")
        await run.pause(rng)  # reads the answers and any warning
        data = {"csrf_token": TOKEN.search(page).group(1)}  # type: ignore[union-attr]
        await run.timed(http, SEND, "POST", "/report/check", data)
        await run.pause(rng)  # notes the reference and the code


async def warm_up(base: str, walks: int) -> None:
    """Walks before the window, not counted: every worker has imported and compiled
    what the pages use (its first page takes tens of ms more), as on a live server."""
    run = Run(base, (0.0, 0.0), 0.0, time.monotonic() + 600)
    await asyncio.gather(*(walk(run, random.Random(n)) for n in range(walks)))


async def refill(engine: Engine, run: Run) -> None:
    """The national limits are for the public, not fifty bench reporters (see above)."""

    def fill() -> None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE rate_buckets SET tokens = 1000"))

    while run.running():
        await asyncio.to_thread(fill)
        await asyncio.sleep(1)


async def drive(
    run: Run, reporters: int, ramp: float, seed: int, engine: Engine, at_since: Callable[[], None]
) -> list[float]:
    """Run the reporters; call `at_since` when the window opens; the 1-minute load
    average every 5 s of the window."""
    peaks: list[float] = []

    async def window() -> None:
        await asyncio.sleep(max(0.0, run.since - time.monotonic()))
        at_since()
        while run.running():
            peaks.append(os.getloadavg()[0])
            await asyncio.sleep(5)

    async def lag() -> None:
        # How late this process wakes for a 20 ms timer: on a busy machine the generator
        # waits for the CPU too, and every time it measures includes that wait.
        while run.running():
            asked = time.monotonic()
            await asyncio.sleep(0.02)
            if asked >= run.since:
                run.lag.append((time.monotonic() - asked - 0.02) * 1000)

    helpers = [asyncio.create_task(task) for task in (refill(engine, run), window(), lag())]
    # Each reporter stops by itself once the window is over and its last request answered.
    rngs = [random.Random(seed * 1000 + n) for n in range(reporters)]
    await asyncio.gather(*(reporter(run, rng, ramp) for rng in rngs))
    for task in helpers:
        task.cancel()
    await asyncio.gather(*helpers, return_exceptions=True)
    return peaks


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (/proc/PID/stat, in clock ticks)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def server_times(lines: list[str]) -> dict[str, list[float]]:
    """Each request kind's time inside gunicorn's worker, from its access log."""
    kinds = {("GET", "/report/"): "GET start", ("GET", "/report/check"): "GET check",
             ("POST", "/report/check"): SEND}  # fmt: skip
    times: dict[str, list[float]] = defaultdict(list)
    for line in lines:
        found = ACCESS.search(line)
        if found is None:
            continue
        method, path, _status, ms = found.groups()
        if path.startswith("/report/q/"):
            kind = "GET question" if method == "GET" else "POST answer"
        else:
            kind = kinds.get((method, path), "")
        if kind:
            times[kind].append(float(ms))
    return times


def row(label: str, values: list[float], server: list[float]) -> str:
    if not values:
        return f"{label:<30}{0:>7}"
    line = (
        f"{label:<30}{len(values):>7}{statistics.median(values):>9.1f}"
        f"{percentile(values, 0.95):>9.1f}{percentile(values, 0.99):>9.1f}"
    )
    if server:
        line += f"{statistics.median(server):>10.0f}{percentile(server, 0.95):>8.0f}"
    return line


def load(database_url: str, args: argparse.Namespace) -> None:
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
    engine = create_engine(normalise_url(database_url))
    think = (args.think_min, args.think_max)
    # Arrivals spread over one walk's thinking (a pause after each page a reporter
    # reads: PAUSES of them, ~45 s at 2-5 s), or 5 s with none.
    ramp = PAUSES * (think[0] + think[1]) / 2 or 5.0
    with gunicorn(
        env, workers=args.workers, log_path=Path(instance) / "gunicorn.log", access_log=True
    ) as server:
        log: Path = server["log"]
        asyncio.run(warm_up(server["url"], 2 * args.workers))
        # After the warm-up: right after start-up the master may not have forked them all.
        pids = [server["process"].pid, *worker_pids(server["process"].pid)]
        since = time.monotonic() + ramp
        run = Run(server["url"], think, since, since + args.seconds)
        first: dict[str, Any] = {}

        def at_since() -> None:
            first.update(lines=_lines(log), cpu=cpu_seconds(pids), own=time.process_time())
            first["load"] = os.getloadavg()

        peaks = asyncio.run(drive(run, args.reporters, ramp, args.seed, engine, at_since))
        elapsed = time.monotonic() - since  # the window, and the last answers' drain
        server_cpu, own_cpu = cpu_seconds(pids) - first["cpu"], time.process_time() - first["own"]
        load_end = os.getloadavg()
        server = server_times(log.read_text(errors="replace").splitlines()[first["lines"] :])
    engine.dispose()
    timings = run.timings
    pages = [t for kind in KINDS if kind != SEND for t in timings[kind]]
    pages_server = [t for kind in KINDS if kind != SEND for t in server[kind]]
    count = sum(len(v) for v in timings.values())
    sent = len(timings[SEND]) - sum(1 for e in run.errors if e.startswith(SEND))
    mode = f"think {think[0]:g}-{think[1]:g} s" if think[1] > 0 else "no think time (saturation)"
    load_start = first["load"]
    print(
        f"\n{args.reporters} reporters, {mode}, seed {args.seed}; {args.workers} gunicorn "
        f"sync workers; {ramp:.0f} s of arrivals, then {args.seconds:.0f} s counted "
        f"({elapsed:.0f} s with the last answers), {os.cpu_count()} CPUs\n"
        f"load average (1, 5, 15 min): window start {load_start[0]:.2f} {load_start[1]:.2f} "
        f"{load_start[2]:.2f}; end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}; "
        f"1-min peak {max(peaks or [load_end[0]]):.2f}"
    )
    print(f"{'':<30}{'':>7}{'as the reporter saw it':>27}{'in the worker':>18}")
    print(
        f"{'request':<30}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'p50 ms':>10}{'p95':>8}"
    )
    for kind in KINDS:
        label = "POST send (argon2id hash)" if kind == SEND else kind
        print(row(label, timings[kind], server[kind]))
    print(row("pages (all but the send)", pages, pages_server))
    print(row("all", [t for v in timings.values() for t in v], []))
    print(
        f"{count / elapsed:.1f} requests/s; {sent} reports sent; {len(run.errors)} errors; "
        f"CPU: gunicorn ({len(pids) - 1} workers) {server_cpu:.1f} s "
        f"({1000 * server_cpu / max(count, 1):.1f} ms a "
        f"request), this generator {own_cpu:.1f} s ({100 * own_cpu / elapsed:.0f}% of a core)"
    )
    if run.lag:
        print(
            f"the generator's own lag (late for a 20 ms timer): p50 "
            f"{statistics.median(run.lag):.1f} ms, p95 {percentile(run.lag, 0.95):.1f} ms, "
            f"p99 {percentile(run.lag, 0.99):.1f} ms: part of every time above"
        )
    if run.errors:
        print("errors:", sorted(set(run.errors))[:10])


def _lines(log: Path) -> int:
    return len(log.read_text(errors="replace").splitlines())


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
    # Counted after the arrivals: a walk takes ~45 s at 2-5 s, so ~200 sends.
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument(
        "--think", default="2-5", help="seconds a reporter spends on a page: MIN-MAX, or 0"
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--checks", type=int, default=20)
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    low, _, high = args.think.partition("-")
    args.think_min, args.think_max = float(low), float(high or low)
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
        load(url, args)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
