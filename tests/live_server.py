"""A real gunicorn serving the app on a free port, for tests that need real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ivr.sim.twilio import http_transport

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Posts as Twilio does, over real HTTP (the simulator's own transport).
http_post = http_transport(timeout=10)


@contextmanager
def gunicorn(
    env: dict[str, str], workers: int = 2, log_path: Path | None = None, access_log: bool = False
) -> Iterator[dict]:
    """Serve ivr.wsgi:app; yields {"url", "process", "log"}; stops it afterwards. With
    `access_log`, gunicorn's access lines too (off in production: ivr/gunicorn_conf.py)."""
    port = free_port()
    log_path = log_path or Path(env.get("IVR_INSTANCE_DIR", "/tmp")) / "gunicorn.log"
    log = log_path.open("w")
    process = subprocess.Popen(  # noqa: S603
        [
            GUNICORN,
            "--config",
            "python:ivr.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *(["--access-logfile", "-"] if access_log else []),
            "ivr.wsgi:app",
        ],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, log_path)
        yield {"url": url, "process": process, "log": log_path}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def wait_until_serving(
    url: str, process: subprocess.Popen, log_path: Path, timeout: float = 90
) -> None:
    """Until a worker answers, not only the master's socket: on a loaded machine a
    worker has taken over 10 s to start, and a test's first call would time out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log_path.read_text()}")
        try:
            # "/" is none of the app's pages: any answer, a 404 too, is a worker's.
            with urllib.request.urlopen(url + "/", timeout=5):  # noqa: S310
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout} s: {log_path.read_text()}")


def worker_pids(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return [int(pid) for pid in children.read_text().split()]
