"""One delivery attempt over the network, HTTPS or SMTP, within an overall deadline,
signed (`sign`, what a force checks with `verify`) over a timestamp, the delivery's
Idempotency-Key and the body. E-mail goes over STARTTLS unless the SMTP server is on
this machine.

A socket timeout bounds each read, not the attempt: a force answering one byte every
few seconds would hold the worker for ever. Here a watchdog shuts the connection's
socket when the attempt's time is up, whatever it is waiting for (connecting, TLS,
sending, reading), and the attempt fails with "no answer within N s".
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ivr.core.routing import Route
from ivr.core.settings import is_this_machine

if TYPE_CHECKING:
    from ivr.records.delivery import DeliverySettings

SIGNATURE_HEADER = "X-Helpline-Signature"
TIMESTAMP_HEADER = "X-Helpline-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# How far from its own clock a force accepts a delivery's timestamp (docs/forces.md).
TOLERANCE_SECONDS = 300


class DeliveryFailed(Exception):
    """One attempt failed; the message (no report content) is kept as last_error."""


class Deadline:
    """Shuts whatever socket `current_socket()` gives once `seconds` have passed."""

    def __init__(self, seconds: float, current_socket: Callable[[], socket.socket | None]):
        self.seconds = seconds
        self._current_socket = current_socket
        self._lock = threading.Lock()
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut(self._current_socket())

    def check(self) -> None:
        """Called once a socket exists: if time ran out while it was being made, shut it."""
        with self._lock:
            if self.expired:
                self._shut(self._current_socket())

    @staticmethod
    def _shut(sock: socket.socket | None) -> None:
        if sock is not None:
            with suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    @contextmanager
    def running(self) -> Iterator[Deadline]:
        self._timer.start()
        try:
            yield self
        finally:
            self._timer.cancel()


def _http_connection(target: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(target)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        context = ssl.create_default_context()
        return http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout, context=context
        ), path
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout), path


def post(
    target: str, body: bytes, headers: dict[str, str], deadline_seconds: float, name: str
) -> None:
    """POST `body`; a 2xx reply within the deadline is the acknowledgement. Redirects are
    not followed (a 3xx is a failure). `name` (the force) is what error messages say."""
    try:
        # Each socket operation's own timeout is a backstop; the deadline comes first.
        connection, path = _http_connection(target, deadline_seconds + 1)
    except (ValueError, http.client.InvalidURL) as exc:
        raise DeliveryFailed(f"cannot reach {name}: {type(exc).__name__}") from None
    deadline = Deadline(deadline_seconds, lambda: connection.sock)
    try:
        with deadline.running():
            connection.connect()
            deadline.check()
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            status = response.status  # the acknowledgement; its body is not needed
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if deadline.expired:
            raise DeliveryFailed(f"no answer from {name} within {deadline_seconds:g} s") from None
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise DeliveryFailed(f"cannot reach {name}: {reason}") from None
    finally:
        connection.close()
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status} from {name}")


class _SMTP(smtplib.SMTP):
    """smtplib's client with the deadline's check once its socket exists."""

    deadline: Deadline | None = None

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        self.sock = sock
        if self.deadline is not None:
            self.deadline.check()
        return sock


def send_mail(
    message: EmailMessage,
    *,
    host: str,
    port: int,
    starttls: bool,
    username: str,
    password: str,
    ca_file: str = "",
    deadline_seconds: float,
    name: str,
) -> None:
    """Hand `message` to the SMTP server; its acceptance within the deadline is the
    acknowledgement."""
    smtp = _SMTP(timeout=deadline_seconds + 1)  # a backstop; the deadline comes first
    deadline = Deadline(deadline_seconds, lambda: smtp.sock)
    smtp.deadline = deadline
    try:
        with deadline.running():
            smtp.connect(host, port)
            # STARTTLS checks the certificate against this name; smtplib sets it only
            # when the host is given to the constructor, which would connect at once.
            smtp._host = host  # type: ignore[attr-defined]
            smtp.ehlo_or_helo_if_needed()
            if starttls:  # the server's certificate checked, against ca_file if given
                smtp.starttls(context=ssl.create_default_context(cafile=ca_file or None))
            if username:
                smtp.login(username, password)
            smtp.send_message(message)
            _quit_quietly(smtp)  # accepted is acknowledged, whatever QUIT then does
    except (smtplib.SMTPException, OSError) as exc:
        if deadline.expired:
            raise DeliveryFailed(
                f"e-mail to {name}: no answer within {deadline_seconds:g} s"
            ) from None
        raise DeliveryFailed(f"e-mail to {name} not accepted: {exc}") from None
    finally:
        smtp.close()


def _quit_quietly(smtp: Any) -> None:
    with suppress(smtplib.SMTPException, OSError):
        smtp.quit()


def signed_bytes(timestamp: str, key: str, body: bytes) -> bytes:
    """What the signature covers: when it was sent, which delivery, and the report."""
    return f"{timestamp}.{key}.".encode() + body


def sign(secret: str, timestamp: str, key: str, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 under the force's secret of
    `<timestamp>.<Idempotency-Key>.<body>` (docs/forces.md shows a force checking it)."""
    digest = hmac.new(secret.encode(), signed_bytes(timestamp, key, body), hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: str,
    body: bytes,
    key: str | None,
    timestamp: str | None,
    header: str | None,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a force does on receipt: the signature (constant-time) and the timestamp's
    age, so a delivery recorded and sent again later is refused. Surrounding white space
    is ignored: a mail system may fold a long header onto a second line."""
    if not (key and timestamp and header) or not timestamp.strip().isdigit():
        return False
    timestamp = timestamp.strip()
    expected = sign(secret, timestamp, key.strip(), body)
    if not hmac.compare_digest(expected, header.strip()):
        return False
    return abs((time.time() if now is None else now) - int(timestamp)) <= tolerance


def _now_stamp() -> str:
    # The wall clock, not the worker's schedule: it is what the force's clock is checked by.
    return str(int(time.time()))


def send_https(route: Route, key: str, body: bytes, timeout: float) -> None:
    """POST the report to the force; `timeout` bounds the whole attempt."""
    stamp = _now_stamp()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        IDEMPOTENCY_HEADER: key,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(route.secret, stamp, key, body),
        "User-Agent": "helpline-delivery/1",
    }
    post(route.target, body, headers, timeout, route.force_id)


def send_email(
    route: Route, key: str, body: bytes, reference: str, settings: DeliverySettings
) -> None:
    message = EmailMessage()
    message["From"] = settings.smtp_sender
    message["To"] = route.target
    message["Subject"] = f"Helpline report {reference} for {route.description}"
    message["Message-ID"] = f"<{key}@helpline>"
    message[IDEMPOTENCY_HEADER] = key
    if route.secret:
        stamp = _now_stamp()
        message[TIMESTAMP_HEADER] = stamp
        message[SIGNATURE_HEADER] = sign(route.secret, stamp, key, body)
    message.set_content(
        f"Report {reference} from the helpline, for {route.description}.\n\n"
        f"The report is attached as {reference}.json (schema: report.schema.json).\n"
        f"If this message arrives twice, keep one: both carry {IDEMPOTENCY_HEADER} {key}.\n"
    )
    message.add_attachment(
        body, maintype="application", subtype="json", filename=f"{reference}.json"
    )
    send_mail(
        message,
        host=settings.smtp_host,
        port=settings.smtp_port,
        # A report never crosses a network in clear: STARTTLS unless the server is on
        # this machine (and then if asked for). A server that does not offer it fails the
        # attempt, which is retried: never sent plain.
        starttls=settings.smtp_starttls or not is_this_machine(settings.smtp_host),
        ca_file=settings.smtp_ca_file,
        username=settings.smtp_username,
        password=settings.smtp_password,
        deadline_seconds=settings.timeout_seconds,
        name=route.force_id,
    )
