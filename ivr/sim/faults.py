"""Faults to inject, for the fault tests (tests/faults/) and bench/faults.py.

- `TcpProxy`: a TCP proxy in front of a server (PostgreSQL) that can be killed
  (every connection cut, new ones refused), frozen (connections accepted, nothing
  passed either way, as a hung server or a lost network looks), slowed (each chunk
  delayed), and healed.
- `BadForce`: a force's HTTP endpoint that answers well, or hangs, drips its reply
  one byte at a time, redirects, drops the connection, or answers 503.
- `BadSmtp`: an SMTP server that hangs, drips its greeting, or drops.

Plain sockets and threads, so that a test or a benchmark starts them on port 0 and
stops them when done.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class _Listener:
    """Accepts connections on 127.0.0.1:<free port> and hands each to `serve` in a thread."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port: int = self.sock.getsockname()[1]
        self._stopped = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> _Listener:
        self._thread.start()
        return self

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                ready, _, _ = select.select([self.sock], [], [], 0.2)
                if not ready:
                    continue
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve_safely, args=(conn,), daemon=True).start()

    def _serve_safely(self, conn: socket.socket) -> None:
        try:
            self.serve(conn)
        except OSError:
            pass
        finally:
            self._forget(conn)

    def _forget(self, conn: socket.socket) -> None:
        with self._lock:
            if conn in self._conns:
                self._conns.remove(conn)
        conn.close()

    def cut_all(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stopped.set()
        self.sock.close()
        self.cut_all()
        self._thread.join(timeout=2)


class TcpProxy(_Listener):
    """127.0.0.1:<port> -> `target`. Modes: "pass", "kill", "freeze", "slow"."""

    def __init__(self, target_host: str, target_port: int) -> None:
        super().__init__()
        self.target = (target_host, target_port)
        self.mode = "pass"
        self.delay = 0.0
        self._mode_changed = threading.Condition()

    def set_mode(self, mode: str, delay: float = 0.0) -> None:
        with self._mode_changed:
            self.mode, self.delay = mode, delay
            self._mode_changed.notify_all()
        if mode == "kill":
            self.cut_all()

    def heal(self) -> None:
        self.set_mode("pass")

    def serve(self, conn: socket.socket) -> None:
        if self.mode == "kill":
            return  # refused: closed at once
        upstream = socket.create_connection(self.target, timeout=5)
        upstream.settimeout(None)
        with self._lock:
            self._conns.append(upstream)
        try:
            self._pump(conn, upstream)
        finally:
            self._forget(upstream)

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peers = {client: upstream, upstream: client}
        while True:
            if self.mode == "freeze":
                with self._mode_changed:  # hold everything, as a hung server does
                    self._mode_changed.wait_for(lambda: self.mode != "freeze", timeout=0.5)
                continue
            if self.mode == "kill":
                return
            ready, _, _ = select.select(list(peers), [], [], 0.5)
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                if self.mode == "slow" and self.delay:
                    time.sleep(self.delay)
                peers[sock].sendall(data)


@dataclass
class ForceLog:
    """What a bad force saw: each request's Idempotency-Key and when it arrived."""

    requests: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str) -> None:
        with self.lock:
            self.requests.append((time.monotonic(), key))


class BadForce(_Listener):
    """A force's HTTP endpoint. Modes: "ok" (200), "hang" (reads the request, never
    answers), "drip" (one byte of a 200 reply every `drip_seconds`), "redirect" (302),
    "drop" (closes the connection unanswered), "fail" (503)."""

    def __init__(self, mode: str = "ok", drip_seconds: float = 1.0, drip_for: float = 60.0):
        super().__init__()
        self.mode = mode
        self.drip_seconds = drip_seconds
        self.drip_for = drip_for
        self.log = ForceLog()
        self.url = f"http://127.0.0.1:{self.port}/psd"

    def serve(self, conn: socket.socket) -> None:
        head, body = _read_http_request(conn)
        key = ""
        for line in head.split("\r\n"):
            if line.lower().startswith("idempotency-key:"):
                key = line.split(":", 1)[1].strip()
        self.log.add(key)
        if self.mode == "hang":
            time.sleep(self.drip_for)
        elif self.mode == "drip":
            started = time.monotonic()
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
                if time.monotonic() - started > self.drip_for:
                    return
                conn.sendall(bytes([byte]))
                time.sleep(self.drip_seconds)
        elif self.mode == "redirect":
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\n\r\n")
        elif self.mode == "drop":
            return
        elif self.mode == "fail":
            conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def _read_http_request(conn: socket.socket) -> tuple[str, bytes]:
    conn.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.decode("latin-1").split("\r\n"):
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head.decode("latin-1"), body


class BadSmtp(_Listener):
    """An SMTP server that misbehaves. Modes: "hang" (accepts, never greets), "drip"
    (greets one byte every `drip_seconds`), "drop" (closes at once)."""

    def __init__(self, mode: str = "hang", drip_seconds: float = 1.0, drip_for: float = 60.0):
        super().__init__()
        self.mode = mode
        self.drip_seconds = drip_seconds
        self.drip_for = drip_for
        self.connections = 0

    def serve(self, conn: socket.socket) -> None:
        self.connections += 1
        if self.mode == "hang":
            time.sleep(self.drip_for)
        elif self.mode == "drip":
            started = time.monotonic()
            for byte in b"220 slow.example ESMTP\r\n" * 20:
                if time.monotonic() - started > self.drip_for:
                    return
                conn.sendall(bytes([byte]))
                time.sleep(self.drip_seconds)


def timed(action: Callable[[], object]) -> tuple[float, object]:
    """How long `action` took (seconds), and what it returned."""
    started = time.monotonic()
    result = action()
    return time.monotonic() - started, result
