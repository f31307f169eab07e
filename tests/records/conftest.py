"""Fixtures for the review, routing, delivery and retention tests: sessions on the
test database, a movable clock, a force's HTTPS endpoint and an SMTP server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import functools
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker

from ivr.core.contact import ContactCipher
from ivr.core.db import make_engine
from ivr.core.forces import ForceCatalogue
from ivr.core.routing import Route, Routes
from ivr.core.settings import PROJECT_ROOT, Settings, load_settings
from ivr.models import Report, ReportSubject, User
from ivr.records.delivery import DeliverySettings
from ivr.records.record import new_reference
from ivr.records.sending import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

SECRET = "force-secret-0123456789abcdef-0123456789"


@functools.cache
def default_settings() -> Settings:
    """The settings as config/default.toml gives them (with the secrets it leaves out),
    untouched by this machine's environment or instance/local.toml."""
    return load_settings(
        environ={
            "TWILIO_AUTH_TOKEN": "t" * 32,
            "IVR_SECRET_KEY": "s" * 40,
            "IVR_CONTACT_KEY": Fernet.generate_key().decode(),
            "IVR_INSTANCE_DIR": "/nonexistent",
        }
    )


def delivery_settings(**changes: Any) -> DeliverySettings:
    """The delivery worker's settings by default, with `changes`."""
    return dataclasses.replace(DeliverySettings.from_settings(default_settings()), **changes)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session


@pytest.fixture(scope="session")
def forces() -> ForceCatalogue:
    return ForceCatalogue.load(PROJECT_ROOT / "config" / "forces.toml")


@pytest.fixture
def cipher() -> ContactCipher:
    return ContactCipher(Fernet.generate_key().decode())


class Clock:
    """The time as the code under test sees it; tests move it instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@dataclass
class ForceServer:
    """A force's endpoint: checks the signature, answers 503 `failures` times, then 200.

    `acknowledged` holds every request it answered with 2xx, so a report that
    arrives twice shows up twice there (a real force would drop the repeat by key).
    """

    secret: str
    failures: int = 0
    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: Any, body: bytes) -> int:
        request = {
            "key": headers.get(IDEMPOTENCY_HEADER),
            "signature_ok": verify(
                self.secret,
                body,
                headers.get(IDEMPOTENCY_HEADER),
                headers.get(TIMESTAMP_HEADER),
                headers.get(SIGNATURE_HEADER),
            ),
            "headers": dict(headers.items()),
            "body": body,
            "content_type": headers.get("Content-Type"),
        }
        with self.lock:
            self.received.append(request)
            if not request["signature_ok"]:
                return 401
            if self.failures > 0:
                self.failures -= 1
                return 503
            self.acknowledged.append(request)
            return 200

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.acknowledged]


@pytest.fixture
def force_server() -> Iterator[ForceServer]:
    server_state = ForceServer(secret=SECRET)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = server_state.handle(self.headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}/helpline"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server_state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    # aiosmtpd's Controller cannot bind port 0 itself (it connects to its port to
    # know it is up), so ask the kernel for a free one first.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def routes_to(
    forces: ForceCatalogue, table: dict[str, tuple[str, str]], fallback: str = ""
) -> Routes:
    """Routes for some forces: {force_id: ("https", url) or ("email", address)}."""
    routes = {}
    for force_id, (channel, target) in table.items():
        force = forces.forces[force_id]
        routes[force_id] = Route(force_id, force.name, force.destination, channel, target, SECRET)
    return Routes(forces, routes, fallback)


def make_user(session: Session, role: str = "supervisor", name: str | None = None) -> User:
    user = User(username=name or f"{role}-{uuid.uuid4().hex[:6]}", password_hash="x", role=role)
    session.add(user)
    session.commit()
    return user


def make_report(
    session: Session,
    subject_forces: tuple[str, ...] = ("kent",),
    *,
    status: str = "submitted",
    anonymous: bool = True,
    what: str = "He takes cash from a dealer to tip him off about raids.",
    contact: dict[str, Any] | None = None,
    cipher: ContactCipher | None = None,
    urgent: bool = False,
    **fields: Any,
) -> Report:
    report = Report(
        reference=new_reference(session),
        status=status,
        anonymous=anonymous,
        what=what,
        urgent=urgent,
        categories=["bribery"],
        when_text="last month",
        where="outside the station",
        how_known="saw",
        risk_now=False,
        submitted_at=datetime.now(UTC),
        **fields,
    )
    if contact is not None:
        assert cipher is not None
        report.contact_enc = cipher.encrypt(json.dumps(contact))
    report.subjects = [
        ReportSubject(position=i, name=f"PC Subject {i}", rank="PC", role="officer", force=force)
        for i, force in enumerate(subject_forces)
    ]
    session.add(report)
    session.commit()
    return report
