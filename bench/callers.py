"""Thousands of callers at once, and new calls at full speed: PostgreSQL and SQLite side by side.

    .venv/bin/python bench/callers.py                         # 4,000 callers, both databases
    .venv/bin/python bench/callers.py --callers 500 --duration 40 --rounds 1

For each database (a fresh PostgreSQL database made and dropped here, and a temporary
SQLite file) it serves the helpline as `ivr serve` does (gunicorn, the helpline's
`ivr/gunicorn_conf.py`, 4 sync workers) on 127.0.0.1 and measures:

(a) callers: N simulated callers at once (default 4,000), each ringing in, pressing a
    key at every menu until the queue (~8 s ±25 % between steps), then the wait URL,
    the queue's end (the caller hangs up) and the status callback, and ringing again.
    Twilio's full parameters, signed with RequestValidator, one connection a request
    (gunicorn's sync workers close it after each answer; nginx opens one each too).
    The callers' first rings are spread over a whole call (the ramp, not measured), so
    the line is at every stage of a call at once, as a real line is; what starts in
    the `--duration` seconds after it is measured. Prints requests/s, p50/p95/p99
    (connect to last byte), overall and by webhook, errors (not 200, not the expected
    TwiML, an apology), and the server's CPU per webhook: the gunicorn workers'
    user+system time (/proc/PID/stat) over the measured seconds, divided by the
    requests they served. The same callers then walk the bare app (its menus lead to
    a queue too): its CPU per webhook is what a webhook costs this machine with no
    helpline in it (gunicorn, the sockets, caches gone cold between requests), and
    the helpline's own CPU is the difference. Targets: p99 < 50 ms, no error, the
    helpline's own CPU <= 1 ms a webhook.
(b) new calls: wrk posting pre-signed new calls to /voice/incoming as fast as they
    are answered, in rounds alternating with a bare Flask app (bench/bare_app.py)
    under the same gunicorn settings. Target: at least half the bare app's rate.

The generator is one asyncio loop (no thread per caller); its own CPU is measured and
printed, since it shares the machine with the server. The machine's load average is
printed at the start and the end: figures taken while other work loads the cores
measure that work as much as the helpline (CPU per webhook suffers least).
Only 127.0.0.1 is ever contacted; every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from webhooks import (  # noqa: E402
    AUTH_TOKEN,
    BIN,
    FROM_NUMBER,
    TO_NUMBER,
    SaturationResult,
    Server,
    combined,
    count_calls,
    ensure_wrk,
    helpline_env,
    percentile,
    postgres_database,
    saturate,
    sqlite_database,
    start_server,
)

from ivr.core.db import normalise_url  # noqa: E402
from ivr.sim.twilio import twilio_params  # noqa: E402
from ivr.sim.walks import keys_to_queue  # noqa: E402

_ACTION = re.compile(r'<Gather [^>]*action="([^"]+)"')
MAX_STEPS = 20  # a walk that has not reached the queue by then is an error


# ------------------------------------------------------------- CPU of the workers
def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each of these processes so far (vanished ones left out)."""
    seconds = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
            seconds[pid] = ticks / os.sysconf("SC_CLK_TCK")
    return seconds


def cpu_seconds(pids: list[int]) -> float:
    return sum(cpu_by_pid(pids).values())


def cpu_since(before: dict[int, float], master: int) -> float:
    """The workers' CPU since `before`: the survivors' growth, and all of a replacement's.
    A worker killed during the run takes its CPU with it: then this is too low."""
    after = cpu_by_pid(worker_pids(master))
    return sum(spent - before.get(pid, 0.0) for pid, spent in after.items())


def database_backends(url: str) -> dict[int, float]:
    """PostgreSQL: the server processes serving this database, with their CPU seconds so
    far (on SQLite the database's work is inside the workers, counted there)."""
    if not url.startswith("postgres"):
        return {}
    engine = create_engine(normalise_url(url))
    with engine.connect() as connection:
        pids = connection.scalars(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
    engine.dispose()
    return {pid: cpu_seconds([pid]) for pid in pids}


def database_cpu(url: str, before: dict[int, float]) -> float:
    """CPU seconds the database's server processes used since `before` was taken."""
    now = database_backends(url)
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())


# ------------------------------------------------------------------ the callers
@dataclass
class Walk:
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)
    kind_latencies: dict[str, list[float]] = field(default_factory=dict)
    # Only what starts after the ramp counts (the callers' rings spread over a whole
    # call first, so the line is at every stage of a call, as a real line is).
    measure_from: float = 0.0
    errors: list[str] = field(default_factory=list)
    calls_queued: int = 0
    calls_ended: int = 0


class CallerError(Exception):
    pass


class Line:
    """Posts signed webhooks to one server, timing each from connect to last byte."""

    def __init__(self, port: int, walk: Walk) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.validator = RequestValidator(AUTH_TOKEN)
        self.walk = walk

    async def post(self, kind: str, path: str, form: dict[str, str]) -> str:
        body = urlencode(form).encode()
        signature = self.validator.compute_signature(self.base + path, form)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nX-Twilio-Signature: {signature}\r\n"
            f"I-Twilio-Idempotency-Token: {secrets.token_hex(16)}\r\n"
            "User-Agent: TwilioProxy/1.1\r\nConnection: close\r\n\r\n"
        ).encode()
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(head + body)
            answer = await asyncio.wait_for(reader.read(), 20)
        finally:
            writer.close()
        took = time.perf_counter() - started
        if time.monotonic() - took < self.walk.measure_from:
            return _answer(kind, answer)
        self.walk.latencies.append(took)
        self.walk.kind_latencies.setdefault(kind, []).append(took)
        self.walk.by_kind[kind] = self.walk.by_kind.get(kind, 0) + 1
        return _answer(kind, answer)


def _answer(kind: str, answer: bytes) -> str:
    head_bytes, _, text = answer.partition(b"\r\n\r\n")
    if not head_bytes.startswith(b"HTTP/1.1 200"):
        raise CallerError(f"{kind}: {head_bytes[:40]!r}")
    return text.decode()


async def one_call(line: Line, rng: random.Random, args: argparse.Namespace, stop: float) -> None:
    """One caller's call: ring, a key at each menu, the queue, the wait URL, hang up."""

    async def think() -> bool:
        pause = rng.uniform(0.75, 1.25) * args.think
        if time.monotonic() + pause >= stop:
            # Cut short at the run's end, silently: hang-ups sent then would all arrive
            # in the same instant, a burst no real line sees.
            await asyncio.sleep(max(0.0, stop - time.monotonic()))
            return False
        await asyncio.sleep(pause)
        return True

    sid = "CA" + secrets.token_hex(16)
    params = twilio_params(sid, FROM_NUMBER, TO_NUMBER)
    twiml = await line.post("incoming", "/voice/incoming", params)
    for n in range(MAX_STEPS):
        if "<Enqueue" in twiml:
            break
        found = _ACTION.search(twiml)
        if found is None or "/voice/resume" in twiml or "<Hangup" in twiml:
            raise CallerError(f"step {n}: not a menu: {twiml[:120]!r}")
        if not await think():
            return
        key = args.keys[n] if n < len(args.keys) else "1"
        action = html.unescape(found.group(1))
        twiml = await line.post("step", action, {**params, "Digits": key, "FinishedOnKey": ""})
    else:
        raise CallerError("no queue after {MAX_STEPS} keys")
    queued = {**params, "QueueSid": "QU" + "0" * 32, "QueueTime": "0"}
    twiml = await line.post("wait", "/voice/wait", queued)
    if "<Say" not in twiml:
        raise CallerError(f"wait: no message: {twiml[:120]!r}")
    line.walk.calls_queued += 1
    if not await think():
        return
    left = {**queued, "QueueResult": "hangup", "QueueTime": str(int(args.think))}
    await line.post("queue-left", "/voice/queue-left", left)
    ended = {**params, "CallStatus": "completed", "CallDuration": str(int(6 * args.think))}
    await line.post("status", "/voice/status", ended)
    line.walk.calls_ended += 1


def ramp_seconds(args: argparse.Namespace) -> float:
    """A whole call's length: the callers' first rings are spread over it."""
    return (len(args.keys) + 3) * args.think


async def caller(line: Line, seed: int, args: argparse.Namespace, stop: float) -> None:
    rng = random.Random(seed)
    await asyncio.sleep(rng.uniform(0, ramp_seconds(args)))
    while time.monotonic() < stop:
        try:
            await one_call(line, rng, args, stop)
        except (TimeoutError, CallerError, OSError) as exc:
            if time.monotonic() >= line.walk.measure_from:
                line.walk.errors.append(f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(rng.uniform(0.75, 1.25) * args.think)


async def run_callers(
    port: int,
    n: int,
    seconds: float,
    args: argparse.Namespace,
    measuring: Callable[[], None] = lambda: None,
) -> Walk:
    """n callers; what starts in the `seconds` after the ramp is measured, and
    `measuring` is called as that begins (to take the CPU counters)."""
    walk = Walk(measure_from=time.monotonic() + ramp_seconds(args))
    line = Line(port, walk)
    stop = walk.measure_from + seconds

    async def start_measuring() -> None:
        await asyncio.sleep(max(0.0, walk.measure_from - time.monotonic()))
        measuring()

    await asyncio.gather(start_measuring(), *(caller(line, i, args, stop) for i in range(n)))
    return walk


# ------------------------------------------------------------------- one database
def bench_database(
    backend: str, bare: Server | None, args: argparse.Namespace, tmp: Path
) -> dict[str, float | int | str]:
    row: dict[str, float | int | str] = {"backend": backend}
    databases = {
        "sqlite": lambda: sqlite_database(tmp),
        "postgres": lambda: postgres_database(args.postgres_url),
    }
    with databases[backend]() as url:
        env = helpline_env(url, tmp)
        subprocess.run(
            [str(BIN / "ivr"), "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        server = start_server(f"helpline-{backend}", "ivr.wsgi:app", env, args, tmp)
        try:
            # Warm-up, not measured: every worker meets every query once.
            asyncio.run(run_callers(server.port, 8 * args.workers, 4, _quick(args)))
            if args.callers:
                row.update(walk_callers(server, url, args, "helpline"))
                if bare is not None:
                    # The yardstick under the very same callers and pace: what a webhook
                    # costs this machine with no helpline in it (see docs/benchmarks.md).
                    asyncio.run(run_callers(bare.port, 8 * args.workers, 4, _quick(args)))
                    yardstick = walk_callers(bare, "", args, "bare app")
                    row["bare_walk_cpu_ms"] = yardstick["cpu_ms"]
                    row["own_cpu_ms"] = float(row["cpu_ms"]) - float(yardstick["cpu_ms"])
            if bare is not None and args.rounds:
                row.update(new_calls(bare, server, url, args, tmp))
        finally:
            server.stop()
    return row


def walk_callers(
    server: Server, url: str, args: argparse.Namespace, label: str
) -> dict[str, float | int | str]:
    """(a) on one server: args.callers callers for args.duration seconds."""
    workers = worker_pids(server.process.pid)
    before: dict[str, Any] = {}

    def measuring() -> None:
        before.update(
            cpu=cpu_by_pid(workers),
            mine=time.process_time(),
            database=database_backends(url),
            at=time.monotonic(),
        )

    walk = asyncio.run(run_callers(server.port, args.callers, args.duration, args, measuring))
    seconds = time.monotonic() - before["at"]
    cpu_before, mine_before, database_before = before["cpu"], before["mine"], before["database"]
    server_cpu = cpu_since(cpu_before, server.process.pid)
    db_cpu = database_cpu(url, database_before)
    mine = time.process_time() - mine_before
    if worker_pids(server.process.pid) != workers:
        # Its CPU went with it: the CPU figures of this run are too low.
        walk.errors.append("a gunicorn worker was replaced during the run")
    ms = [x * 1000 for x in walk.latencies]
    n = len(ms)
    row: dict[str, float | int | str] = dict(
        rps=n / seconds,
        p50=percentile(ms, 50),
        p95=percentile(ms, 95),
        p99=percentile(ms, 99),
        errors=len(walk.errors),
        cpu_ms=1000 * server_cpu / max(n, 1),
        db_cpu_ms=1000 * db_cpu / max(n, 1),
        generator_ms=1000 * mine / max(n, 1),
        queued=walk.calls_queued,
    )
    # The cores the server used (workers and database) for these callers: the callers
    # one core would carry at the same CPU per caller.
    cores = (server_cpu + db_cpu) / seconds
    row["per_core"] = args.callers / cores if cores else 0
    mix = ", ".join(f"{k} {v}" for k, v in sorted(walk.by_kind.items()))
    print(
        f"  (a) {label}, {args.callers} callers, {seconds:.0f} s: {n} webhooks ({mix}), "
        f"{row['rps']:.0f} req/s, p50 {row['p50']:.1f} / p95 {row['p95']:.1f} / "
        f"p99 {row['p99']:.1f} ms, errors {len(walk.errors)}, calls queued "
        f"{walk.calls_queued}, ended {walk.calls_ended}; server CPU "
        f"{row['cpu_ms']:.2f} ms a webhook (PostgreSQL's own {row['db_cpu_ms']:.2f} ms); "
        f"generator CPU {row['generator_ms']:.2f} ms",
        flush=True,
    )
    for kind, took in sorted(walk.kind_latencies.items()):
        by_kind = [x * 1000 for x in took]
        print(
            f"      {kind:<10} p50 {percentile(by_kind, 50):8.1f} / p95 "
            f"{percentile(by_kind, 95):8.1f} / p99 {percentile(by_kind, 99):8.1f} ms"
        )
    for error in sorted(set(walk.errors))[:5]:
        print(f"      {error}")
    return row


def new_calls(
    bare: Server, server: Server, url: str, args: argparse.Namespace, tmp: Path
) -> dict[str, float | int | str]:
    """(b): the bare app and the helpline in alternating rounds of wrk (whatever else the
    machine does weighs on both alike), with each one's workers' CPU a request."""
    for each in (bare, server):
        saturate(each, 3, args, tmp)  # warm-up: every worker has met every path
    results: dict[str, list[SaturationResult]] = {"bare": [], "helpline": []}
    cpu = {"bare": 0.0, "helpline": 0.0}
    before = count_calls(url)
    for _ in range(args.rounds):
        for name, each in (("bare", bare), ("helpline", server)):
            started = cpu_by_pid(worker_pids(each.process.pid))
            results[name].append(saturate(each, args.saturate_seconds, args, tmp))
            cpu[name] += cpu_since(started, each.process.pid)
    bare_result, result = combined(results["bare"]), combined(results["helpline"])
    stored = count_calls(url) - before
    figures: dict[str, float | int | str] = {
        "new_rps": result.rps,
        "bare_rps": bare_result.rps,
        "ratio": result.rps / bare_result.rps,
        "new_errors": result.bad_answers + result.socket_errors,
        "new_p99": result.p99_ms,
        "incoming_cpu_ms": 1000 * cpu["helpline"] / max(result.requests, 1),
        "bare_cpu_ms": 1000 * cpu["bare"] / max(bare_result.requests, 1),
    }
    rounds = ", ".join(
        f"{h.rps / b.rps:.2f}" for b, h in zip(results["bare"], results["helpline"], strict=True)
    )
    print(
        f"  (b) new calls {result.rps:.0f} req/s vs bare app {bare_result.rps:.0f} req/s: "
        f"{figures['ratio']:.2f} (rounds {rounds}); p99 {result.p99_ms:.1f} ms; errors "
        f"{figures['new_errors']}; CPU a request {figures['incoming_cpu_ms']:.3f} ms vs bare "
        f"{figures['bare_cpu_ms']:.3f} ms; rows written {stored} (the welcome writes none: "
        "a call is stored by its first step or its status callback)",
        flush=True,
    )
    return figures


def _quick(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), "think": 0.2})


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def print_summary(rows: list[dict[str, float | int | str]], args: argparse.Namespace) -> None:
    print(f"\nsummary, load average now {_load()}")
    names = [str(r["backend"]) for r in rows]
    print(f"  {'':<36}" + "".join(f"{n:>14}" for n in names))

    def line(label: str, key: str, fmt: str) -> None:
        if all(key in r for r in rows):
            print(f"  {label:<36}" + "".join(f"{format(r[key], fmt):>14}" for r in rows))

    line(f"(a) {args.callers} callers: requests/s", "rps", ".0f")
    line("    p50 ms", "p50", ".1f")
    line("    p95 ms", "p95", ".1f")
    line("    p99 ms (target < 50)", "p99", ".1f")
    line("    errors (target 0)", "errors", "d")
    line("    server CPU ms a webhook", "cpu_ms", ".3f")
    line("    bare app, same callers: CPU ms", "bare_walk_cpu_ms", ".3f")
    line("    helpline's own CPU ms (<= 1)", "own_cpu_ms", ".3f")
    line("    PostgreSQL server CPU ms a webhook", "db_cpu_ms", ".3f")
    line("    generator CPU ms a webhook", "generator_ms", ".3f")
    line("    callers one core carries", "per_core", ".0f")
    line("(b) new calls/s", "new_rps", ".0f")
    line("    bare app requests/s", "bare_rps", ".0f")
    line("    ratio (target >= 0.50)", "ratio", ".2f")
    line("    errors", "new_errors", "d")
    line("    server CPU ms a new call", "incoming_cpu_ms", ".3f")
    line("    bare app CPU ms a request", "bare_cpu_ms", ".3f")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--callers", type=int, default=4000, help="0: skip (a)")
    parser.add_argument("--duration", type=int, default=120, help="seconds of (a)")
    parser.add_argument("--think", type=float, default=8.0, help="seconds between steps")
    parser.add_argument(
        "--keys",
        default="".join(keys_to_queue()),
        help="keys pressed at the menus, in turn (default: the flow's own path to the queue)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="(b) rounds; 0: skip (b)")
    parser.add_argument("--saturate-seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16, help="wrk connections in (b)")
    parser.add_argument("--max-rate", type=int, default=4000, help="new calls written a second")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    args.worker_class, args.threads = "sync", 1
    if urlsplit(args.postgres_url).hostname not in ("127.0.0.1", "localhost"):
        sys.exit("bench: only a PostgreSQL server on 127.0.0.1 may be used")
    args.wrk = ensure_wrk() if args.rounds else ""
    print(
        f"bench/callers.py: gunicorn 4 sync workers (ivr serve); {os.cpu_count()} cores; "
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}; load average at start {_load()}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="helpline-callers-") as name:
        tmp = Path(name)
        bare = None
        if args.rounds or args.callers:
            # The same settings as the helpline's: ivr/gunicorn_conf.py builds the helpline
            # once in the master to check them, whatever app it then serves.
            bare_env = helpline_env(f"sqlite:///{tmp / 'bare.db'}", tmp)
            bare = start_server("bare", "bench.bare_app:app", bare_env, args, tmp)
        try:
            rows = []
            for backend in args.backends.split(","):
                print(f"helpline on {backend}:", flush=True)
                rows.append(bench_database(backend, bare, args, tmp))
        finally:
            if bare is not None:
                bare.stop()
    print_summary(rows, args)


if __name__ == "__main__":
    main()
