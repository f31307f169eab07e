"""Webhook benchmark: the helpline under gunicorn beside a bare Flask app, same settings.

    .venv/bin/python bench/webhooks.py                 # both back-ends, about 5 minutes
    .venv/bin/python bench/webhooks.py --duration 60 --backends sqlite

For each back-end (a temporary SQLite file, and a fresh PostgreSQL database made
and dropped here) it serves `ivr.wsgi:app` with gunicorn on a free port of
127.0.0.1, and measures:

(a) calls: N simulated callers (default 200) each walking the whole keypad flow
    with ~8 s between steps, exactly as Twilio posts (signed, full parameter
    set, TwiML parsed and followed): webhook latency p50/p95/p99, requests per
    second, errors. Target: p99 < 50 ms and no errors.
(b) saturation: wrk posting NEW calls to /voice/incoming (signed, a fresh CallSid
    each, so every request writes a call) as fast as the server answers, against
    the bare app's requests per second under the same gunicorn settings, in
    alternating rounds (the bare app's server stays up throughout).
    Target: at least a third of the bare app's rate.

Every loop is bounded in time and only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from ivr.core.db import normalise_url
from ivr.sim.twilio import SimulatedCall, TwimlError, twilio_params
from ivr.sim.walks import keys_to_queue

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # gunicorn and ivr from the same virtualenv
LUA_SCRIPT = Path(__file__).resolve().parent / "new_calls.lua"
AUTH_TOKEN = "bench-" + secrets.token_hex(16)
TO_NUMBER = "+448000850000"
FROM_NUMBER = "+447911123456"
# The keypad path to the queue (ivr/sim/walks.py, read from the flow): English, an
# officer, the list of regions, London and the South East, the Met, bribery, nobody at
# risk now, stay anonymous.
KEYS = keys_to_queue()


# ------------------------------------------------------------------ servers
@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gunicorn_args(args: argparse.Namespace) -> list[str]:
    """The settings both apps are served with: the helpline's own config file, and the
    worker class and count under test."""
    extra = ["--worker-class", args.worker_class, "--workers", str(args.workers)]
    if args.worker_class == "gthread":
        extra += ["--threads", str(args.threads)]
    return ["--config", "python:ivr.gunicorn_conf", *extra]


def start_server(
    name: str, app: str, env: dict[str, str], args: argparse.Namespace, tmp: Path
) -> Server:
    port = free_port()
    log = tmp / f"{name}.log"
    command = [str(BIN / "gunicorn"), *gunicorn_args(args), "--bind", f"127.0.0.1:{port}", app]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(name, port, process, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"bench: {name} did not start:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return server
        time.sleep(0.1)
    server.stop()
    sys.exit(f"bench: {name} did not listen on 127.0.0.1:{port} within 30 s")


# ---------------------------------------------------------------- databases
@contextlib.contextmanager
def sqlite_database(tmp: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp / 'bench.db'}"


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A database of its own on the PostgreSQL server, dropped afterwards whatever happens."""
    name = f"helpline_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def helpline_env(database_url: str, tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        IVR_SECRET_KEY=secrets.token_urlsafe(48),
        IVR_CONTACT_KEY=Fernet.generate_key().decode(),
        IVR_CALLS_CHECK_STAFFING="false",
        IVR_WEB_ENVIRONMENT="production",
        IVR_TWILIO_CHECK_SIGNATURES="true",
        PUBLIC_BASE_URL="",
        # Not the worktree's instance/local.toml: only what is set here.
        IVR_INSTANCE_DIR=str(tmp / "instance"),
    )
    return env


def count_calls(database_url: str) -> int:
    engine = create_engine(normalise_url(database_url))
    with engine.connect() as conn:
        count = int(conn.scalar(text("SELECT count(*) FROM calls")) or 0)
    engine.dispose()
    return count


# ------------------------------------------------------- (a) walking calls
@dataclass
class WalkResult:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    calls_queued: int = 0
    seconds: float = 0.0


def http_transport(result: WalkResult | None):  # type: ignore[no-untyped-def]
    """A SimulatedCall transport over a fresh connection per request, as Twilio makes them,
    timing each webhook from connect to the last byte of the answer."""

    def post(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
        started = time.perf_counter()
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=20)
        try:
            conn.request("POST", path, urlencode(form), headers)
            answer = conn.getresponse()
            status, body = answer.status, answer.read().decode()
        finally:
            conn.close()
        if result is not None:
            result.latencies.append(time.perf_counter() - started)
        return status, body

    return post


def walk_one_call(server: Server, result: WalkResult | None, pause, stop_at: float) -> None:  # type: ignore[no-untyped-def]
    """One caller's whole call; `pause()` is the caller thinking between steps."""
    call = SimulatedCall(
        transport=http_transport(result),
        auth_token=AUTH_TOKEN,
        base_url=server.url(),
        to_number=TO_NUMBER,
        from_number=FROM_NUMBER,
    )
    twiml = call.start()
    for key in KEYS:
        pause()
        if time.monotonic() >= stop_at:
            return
        twiml = call.press(key)
    if twiml.find("Enqueue") is None:
        raise TwimlError(f"the call ended at {call.path}, not in the queue")
    # Twilio fetches the wait URL as soon as the caller is queued.
    status, body = call.post("/voice/wait", {"QueueTime": "0", "QueueSid": "QU" + "0" * 32})
    if status != 200 or "<Say" not in body:
        raise TwimlError("the wait URL did not answer with a message")
    if result is not None:
        result.calls_queued += 1
    pause()
    if time.monotonic() >= stop_at:
        # Every caller's pause is cut short at the end of the run: a hang-up sent then would
        # arrive with all the others at the same instant, a burst no real line sees.
        return
    call.hang_up(duration=60)


def walk_calls(
    server: Server, callers: int, seconds: float, think: float, result: WalkResult | None
) -> None:
    """`callers` threads, each placing calls one after another until `seconds` are up."""
    stop_at = time.monotonic() + seconds

    def caller(seed: int) -> None:
        rng = random.Random(seed)

        def pause() -> None:
            # ~think s between steps, jittered so callers do not march in step.
            time.sleep(min(max(0.0, stop_at - time.monotonic()), rng.uniform(0.75, 1.25) * think))

        time.sleep(rng.uniform(0, think))  # callers ring in over the first few seconds
        while time.monotonic() < stop_at:
            try:
                walk_one_call(server, result, pause, stop_at)
            except (TwimlError, OSError, http.client.HTTPException) as exc:
                if result is not None:
                    result.errors.append(f"{type(exc).__name__}: {exc}")
            pause()

    threads = [threading.Thread(target=caller, args=(i,), daemon=True) for i in range(callers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    if result is not None:
        result.seconds = time.monotonic() - started


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


# ------------------------------------------------------- (b) saturating load
@dataclass
class SaturationResult:
    requests: int
    seconds: float
    bad_answers: int
    socket_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    reused: bool

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def write_new_calls(server: Server, count: int, path: Path) -> None:
    """`count` signed /voice/incoming requests, each a new call (its own CallSid)."""
    url = server.url("/voice/incoming")
    validator = RequestValidator(AUTH_TOKEN)
    with path.open("w") as out:
        for _ in range(count):
            params = twilio_params("CA" + secrets.token_hex(16), FROM_NUMBER, TO_NUMBER)
            signature = validator.compute_signature(url, params)
            out.write(f"{signature}\t{secrets.token_hex(16)}\t{urlencode(params)}\n")


def saturate(server: Server, seconds: int, args: argparse.Namespace, tmp: Path) -> SaturationResult:
    requests = tmp / f"{server.name}-new-calls.txt"
    planned = args.max_rate * seconds
    write_new_calls(server, planned, requests)
    command = [
        args.wrk,
        "-t1",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        server.url("/voice/incoming"),
        "--",
        str(requests),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r"^RESULT (.*)$", output, re.MULTILINE)
    if found is None:
        sys.exit(f"bench: wrk printed no result:\n{output}")
    values = dict(pair.split("=") for pair in found.group(1).split())
    n = int(values["requests"])
    return SaturationResult(
        requests=n,
        seconds=int(values["duration_us"]) / 1e6,
        bad_answers=int(values["bad_answers"]),
        socket_errors=int(values["socket_errors"]),
        p50_ms=int(values["p50_us"]) / 1000,
        p95_ms=int(values["p95_us"]) / 1000,
        p99_ms=int(values["p99_us"]) / 1000,
        # More requests than were written: CallSids were sent twice, so not all were new.
        reused=n > planned,
    )


def combined(results: list[SaturationResult]) -> SaturationResult:
    """Several rounds as one: total requests over total time; the worst round's latencies."""
    return SaturationResult(
        requests=sum(r.requests for r in results),
        seconds=sum(r.seconds for r in results),
        bad_answers=sum(r.bad_answers for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        p50_ms=max(r.p50_ms for r in results),
        p95_ms=max(r.p95_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
        reused=any(r.reused for r in results),
    )


def saturate_in_turns(
    bare: Server, helpline: Server, args: argparse.Namespace, tmp: Path
) -> tuple[SaturationResult, SaturationResult]:
    """The bare app and the helpline in alternating rounds, so that whatever else this
    machine is doing weighs on both alike and the ratio between them stays fair."""
    for server in (bare, helpline):
        saturate(server, 3, args, tmp)  # warm-up: imports, caches, connections in every worker
    bare_rounds, helpline_rounds = [], []
    for _ in range(args.rounds):
        bare_rounds.append(saturate(bare, args.saturate_seconds, args, tmp))
        helpline_rounds.append(saturate(helpline, args.saturate_seconds, args, tmp))
    rounds = ", ".join(
        f"{h.rps / b.rps:.2f}" for b, h in zip(bare_rounds, helpline_rounds, strict=True)
    )
    print(f"      helpline/bare by round: {rounds}")
    return combined(bare_rounds), combined(helpline_rounds)


def print_saturation(label: str, result: SaturationResult) -> None:
    flags = " (CallSids reused: raise --max-rate)" if result.reused else ""
    print(
        f"  {label:<28} {result.rps:8.0f} req/s  p50 {result.p50_ms:6.1f} ms  "
        f"p99 {result.p99_ms:6.1f} ms  errors {result.bad_answers + result.socket_errors}{flags}",
        flush=True,
    )


# ---------------------------------------------------------------------- run
def ensure_wrk() -> str:
    """Debian's wrk; installed with apt-get (as root) only when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("bench: wrk is missing: apt-get install wrk")
    quiet = {"stdout": subprocess.DEVNULL, "check": True}
    subprocess.run(["apt-get", "update", "-qq"], **quiet)  # type: ignore[call-overload]
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        **quiet,  # type: ignore[arg-type]
    )
    return shutil.which("wrk") or sys.exit("bench: wrk did not install")


def bench_backend(
    backend: str, bare: Server, args: argparse.Namespace, tmp: Path
) -> dict[str, object]:
    figures: dict[str, object] = {"backend": backend}
    databases = {
        "sqlite": lambda: sqlite_database(tmp),
        "postgres": lambda: postgres_database(args.postgres_url),
    }
    with databases[backend]() as database_url:
        env = helpline_env(database_url, tmp)
        subprocess.run(
            [str(BIN / "ivr"), "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        server = start_server(f"helpline-{backend}", "ivr.wsgi:app", env, args, tmp)
        try:
            print(f"helpline on {backend} ({server.url()}):", flush=True)
            if "calls" in args.scenarios:
                # Warm-up, not measured: a few quick calls so every worker has met every query.
                walk_calls(server, 2 * args.workers, 3, 0.05, None)
                walk = WalkResult()
                walk_calls(server, args.calls, args.duration, args.think, walk)
                ms = [x * 1000 for x in walk.latencies]
                rate = len(ms) / walk.seconds
                figures.update(
                    p50=percentile(ms, 50),
                    p95=percentile(ms, 95),
                    p99=percentile(ms, 99),
                    walk_rps=rate,
                    walk_errors=len(walk.errors),
                )
                print(
                    f"  (a) {args.calls} calls, {args.think:g} s between steps, "
                    f"{walk.seconds:.0f} s: {len(ms)} webhooks, {rate:.1f} req/s, "
                    f"p50 {figures['p50']:.1f} ms  p95 {figures['p95']:.1f} ms  "
                    f"p99 {figures['p99']:.1f} ms  errors {len(walk.errors)}  "
                    f"calls queued {walk.calls_queued}",
                    flush=True,
                )
                for error in sorted(set(walk.errors))[:5]:
                    print(f"      {error}")
            if "saturation" in args.scenarios:
                before = count_calls(database_url)
                bare_result, result = saturate_in_turns(bare, server, args, tmp)
                stored = count_calls(database_url) - before
                print_saturation("(b) bare app, fixed TwiML", bare_result)
                print_saturation("(b) new calls /voice/incoming", result)
                print(f"      calls stored during warm-up and rounds: {stored}")
                ratio = result.rps / bare_result.rps
                verdict = "meets" if ratio >= 1 / 3 else "misses"
                print(f"      {ratio:.2f} of the bare app's rate ({verdict} the 1/3 target)")
                figures.update(
                    rps=result.rps,
                    bare_rps=bare_result.rps,
                    ratio=ratio,
                    saturation_errors=result.bad_answers + result.socket_errors,
                )
        finally:
            server.stop()
    return figures


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--scenarios", default="calls,saturation")
    parser.add_argument("--duration", type=int, default=90, help="seconds of (a), default 90")
    parser.add_argument("--calls", type=int, default=200, help="concurrent callers in (a)")
    parser.add_argument("--think", type=float, default=8.0, help="seconds between steps")
    parser.add_argument("--saturate-seconds", type=int, default=8, help="seconds of a round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of bare, then helpline")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections in (b)")
    parser.add_argument(
        "--max-rate", type=int, default=3000, help="new calls written per second of (b)"
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    args.scenarios = set(args.scenarios.split(","))
    args.wrk = ensure_wrk() if "saturation" in args.scenarios else ""
    for url in [args.postgres_url]:
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
            sys.exit("bench: only a PostgreSQL server on 127.0.0.1 may be used")

    print(
        f"gunicorn {' '.join(gunicorn_args(args))}; {os.cpu_count()} cores; "
        f"started {time.strftime('%Y-%m-%d %H:%M:%S')}; load average {_load()}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="helpline-bench-") as name:
        tmp = Path(name)
        # ivr/gunicorn_conf.py builds the helpline once in the master to check its settings.
        bare_env = helpline_env(f"sqlite:///{tmp / 'bare.db'}", tmp)
        bare = start_server("bare", "bench.bare_app:app", bare_env, args, tmp)
        print(f"bare Flask app: {bare.url()}", flush=True)
        try:
            rows = [bench_backend(b, bare, args, tmp) for b in args.backends.split(",")]
        finally:
            bare.stop()

    # Other work on the machine shows here: figures taken at a load above the core
    # count measure the machine more than the helpline.
    print(f"\nsummary (load average now {_load()})")
    for row in rows:
        parts = [f"  {row['backend']:<8}"]
        if "p99" in row:
            parts.append(
                f"(a) p50/p95/p99 {row['p50']:.1f}/{row['p95']:.1f}/{row['p99']:.1f} ms "
                f"errors {row['walk_errors']}"
            )
        if "rps" in row:
            parts.append(
                f"(b) new calls {row['rps']:.0f} req/s, bare {row['bare_rps']:.0f} req/s, "
                f"ratio {row['ratio']:.2f}, errors {row['saturation_errors']}"
            )
        print("  ".join(parts))


if __name__ == "__main__":
    main()
