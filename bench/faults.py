"""Faults injected into a running helpline, and what callers and forces saw.

    .venv/bin/python bench/faults.py [--callers 30] [--postgres postgresql://postgres@127.0.0.1:5432/test]

Real servers: gunicorn (4 workers) over PostgreSQL behind a TCP proxy this script
starts (`ivr.sim.faults.TcpProxy`), simulated callers over HTTP as Twilio makes them
(`ivr.sim.fault_calls`), misbehaving force endpoints (HTTP and SMTP) and two `ivr
deliver` processes. Prints one table: fault, requests, non-200, callers hung up, lost,
duplicated, slowest answer. The figures go into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from ivr.core.db import normalise_url  # noqa: E402
from ivr.core.migrate import upgrade  # noqa: E402
from ivr.sim.fault_calls import ring_many, warm_up  # noqa: E402
from ivr.sim.faults import BadForce, TcpProxy  # noqa: E402
from tests.faults.ledger import lost_and_duplicated, snapshot  # noqa: E402
from tests.live_server import gunicorn, worker_pids  # noqa: E402

AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
SECRET = "b" * 40


def fresh_postgres(admin_url: str) -> str:
    name = f"helpline_faults_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return url


def drop_postgres(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def through(url: str, proxy: TcpProxy) -> str:
    host_port = url.split("@", 1)[1].split("/", 1)[0]
    return url.replace(host_port, f"127.0.0.1:{proxy.port}")


def call_faults(args: argparse.Namespace, rows: list[tuple]) -> None:
    database = fresh_postgres(args.postgres)
    host, port = database.split("@", 1)[1].split("/", 1)[0].split(":")
    proxy = TcpProxy(host, int(port)).start()
    tmp = Path(tempfile.mkdtemp(prefix="faults-"))
    env = {
        "DATABASE_URL": through(database, proxy),
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "IVR_SECRET_KEY": SECRET,
        "IVR_CONTACT_KEY": Fernet.generate_key().decode(),
        "IVR_INSTANCE_DIR": str(tmp),
        "PUBLIC_BASE_URL": "",
        "IVR_QUEUE_PAUSE": "2",  # a short hold between wait-URL fetches: more of them
    }
    locker = create_engine(normalise_url(database))

    def db_fault(mode: str, seconds: float, delay: float = 0.0):  # type: ignore[no-untyped-def]
        def fault() -> None:
            time.sleep(1.0)
            proxy.set_mode(mode, delay)
            time.sleep(seconds)
            proxy.heal()

        return fault

    def lock_calls(seconds: float):  # type: ignore[no-untyped-def]
        def fault() -> None:
            time.sleep(1.0)
            with locker.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = 0"))
                conn.execute(text("LOCK TABLE calls IN ACCESS EXCLUSIVE MODE"))
                time.sleep(seconds)

        return fault

    try:
        with gunicorn(env, workers=4, log_path=tmp / "gunicorn.log") as server:
            base = server["url"] + "/"
            warm_up(base, AUTH_TOKEN)

            def kill_workers() -> None:
                for _ in range(3):
                    time.sleep(1.5)
                    pids = worker_pids(server["process"].pid)
                    if pids:
                        os.kill(pids[0], signal.SIGKILL)

            scenarios = [
                ("no fault", None),
                ("database killed 5 s", db_fault("kill", 5)),
                ("database frozen 12 s", db_fault("freeze", 12)),
                ("database slowed (0.3 s a packet) 10 s", db_fault("slow", 10, 0.3)),
                ("LOCK TABLE calls held 12 s", lock_calls(12)),
                ("gunicorn workers SIGKILLed x3", kill_workers),
            ]
            for name, fault in scenarios:
                started = time.monotonic()
                before = snapshot(database)
                # Callers arrive over about 15 s: before, during and after the fault.
                run = ring_many(
                    base,
                    AUTH_TOKEN,
                    args.callers,
                    during=fault,
                    pace=args.pace,
                    stagger=15 / args.callers,
                )
                lost, duplicated = lost_and_duplicated(before, snapshot(database), run)
                rows.append(
                    (
                        name,
                        run.requests,
                        run.non_200,
                        len(run.hung_up),
                        lost,
                        duplicated,
                        run.slowest,
                        time.monotonic() - started,
                    )
                )
                print(f"  {name}: done", file=sys.stderr, flush=True)
                time.sleep(2)
            tracebacks = (tmp / "gunicorn.log").read_text().count("Traceback")
            print(f"  tracebacks in gunicorn's log: {tracebacks}", file=sys.stderr)
    finally:
        proxy.stop()
        locker.dispose()
        drop_postgres(args.postgres, database)


FORCES = {"kent": "hang", "essex": "drip", "surrey": "redirect", "sussex": "drop"}
HEALTHY = "hampshire"


def delivery_faults(args: argparse.Namespace, backend: str, rows: list[tuple]) -> None:
    """Two `ivr deliver` processes; four forces that hang, drip, redirect and drop, two
    reports each; one healthy force with 32 reports. Measured: how soon the healthy
    force has every report, and that it has each once."""
    from sqlalchemy.orm import sessionmaker

    from ivr.core.forces import ForceCatalogue
    from ivr.core.routing import env_prefix
    from ivr.core.settings import PROJECT_ROOT
    from ivr.records.review import approve
    from tests.records.conftest import SECRET as FORCE_SECRET
    from tests.records.conftest import make_report, make_user, routes_to

    tmp = Path(tempfile.mkdtemp(prefix="deliveries-"))
    if backend == "sqlite":
        database = f"sqlite:///{tmp / 'helpline.db'}"
        upgrade(database)
    else:
        database = fresh_postgres(args.postgres)
    servers = {
        force: BadForce(mode, drip_seconds=1.0, drip_for=40).start()
        for force, mode in FORCES.items()
    }
    servers[HEALTHY] = BadForce("ok").start()
    forces = ForceCatalogue.load(PROJECT_ROOT / "config" / "forces.toml")
    routes = routes_to(forces, {f: ("https", s.url) for f, s in servers.items()})
    engine = create_engine(normalise_url(database))
    with sessionmaker(engine)() as session:
        user = make_user(session)
        for force in [*FORCES, *FORCES] + [HEALTHY] * 32:
            approve(session, make_report(session, (force,)), user, routes)
    engine.dispose()
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "IVR_SECRET_KEY": SECRET,
        "IVR_CONTACT_KEY": Fernet.generate_key().decode(),
        "IVR_INSTANCE_DIR": str(tmp),
        "IVR_DELIVERY_TIMEOUT": "5",
        "IVR_DELIVERY_LEASE": "20",
    }
    for force, server in servers.items():
        env[f"{env_prefix(force)}_URL"] = server.url
        env[f"{env_prefix(force)}_SECRET"] = FORCE_SECRET
    ivr = str(Path(sys.executable).with_name("ivr"))
    started = time.monotonic()
    workers = [
        subprocess.Popen(
            [ivr, "deliver", "--interval", "1"],
            env=env,  # noqa: S603
            stdout=subprocess.DEVNULL,
            stderr=(tmp / f"w{n}.log").open("w"),
        )
        for n in range(2)
    ]
    healthy = servers[HEALTHY].log
    while len(healthy.requests) < 32 and time.monotonic() - started < 90:
        time.sleep(0.2)
    time.sleep(2)  # anything sent twice arrives now
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    keys = [key for _, key in healthy.requests]
    requests = sum(len(s.log.requests) for s in servers.values())
    failed = requests - len(keys)
    slowest = max((at for at, _ in healthy.requests), default=started) - started
    tracebacks = sum((tmp / f"w{n}.log").read_text().count("Traceback") for n in range(2))
    rows.append(
        (
            f"bad forces (hang, drip, redirect, drop) + 2 deliver workers, {backend}",
            requests,
            failed,
            0,
            32 - len(set(keys)),
            len(keys) - len(set(keys)),
            slowest,
            time.monotonic() - started,
        )
    )
    print(f"  deliveries on {backend}: done; tracebacks: {tracebacks}", file=sys.stderr)
    for server in servers.values():
        server.stop()
    if backend == "postgres":
        drop_postgres(args.postgres, database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=30)
    parser.add_argument("--pace", type=float, default=1.0, help="share of each Pause slept")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    rows: list[tuple] = []
    call_faults(args, rows)
    for backend in ("sqlite", "postgres"):
        delivery_faults(args, backend, rows)
    load = os.getloadavg()
    print(f"\n{args.callers} callers a fault; load average {load[0]:.1f} on {os.cpu_count()} cores")
    print("| fault | requests | non-200 | callers hung up | lost | duplicated | slowest answer |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, requests, non_200, hung_up, lost, duplicated, slowest, _took in rows:
        print(
            f"| {name} | {requests} | {non_200} | {hung_up} | {lost} | {duplicated} "
            f"| {slowest:.2f} s |"
        )


if __name__ == "__main__":
    threading.excepthook = lambda hook: None  # a killed connection's thread says nothing
    main()
