"""The delivery worker: sends each approved report to its force until acknowledged.

The outbox is the `disseminations` table, written by approval (ivr/records/review.py).
A worker claims one due row at a time (PostgreSQL: `FOR UPDATE SKIP LOCKED`,
so several workers never claim the same row; SQLite: run one worker) and
leases it by moving its next attempt `lease` into the future, commits, then
sends without holding a transaction open:

- HTTPS: POST of the report's JSON (ivr/records/export.py) with an
  `Idempotency-Key` header, fixed for the life of the delivery,
  `X-Helpline-Timestamp` (Unix seconds, when this attempt was sent) and
  `X-Helpline-Signature: sha256=<hex HMAC-SHA256 under the force's secret of
  "<timestamp>.<Idempotency-Key>.<body>">`, so a force can refuse a delivery
  recorded and replayed later (docs/forces.md). A 2xx reply is the
  acknowledgement; redirects are not followed (a 3xx is a failure).
- E-mail: the same JSON as an attachment, the same headers (timestamp and signature
  when the force has a secret), the idempotency key as the Message-ID; the SMTP
  server accepting it is the acknowledgement. STARTTLS (certificate checked) is
  required unless the SMTP server is on this machine.

A failure is recorded (attempts, first_failed_at, last_error) and retried
after an exponential back-off with a cap; nothing is ever dropped. When every
delivery of a report is done the report becomes "disseminated".
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.core.audit import audit
from ivr.core.contact import ContactCipher
from ivr.core.routing import Route, Routes
from ivr.core.settings import Settings, is_this_machine
from ivr.models import Dissemination, Report, User, utcnow
from ivr.records.export import ExportError, export_report, to_body

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Helpline-Signature"
TIMESTAMP_HEADER = "X-Helpline-Timestamp"
# How far from its own clock a force accepts a delivery's timestamp (docs/forces.md).
TOLERANCE_SECONDS = 300
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_ERROR_LENGTH = 500

Clock = Callable[[], datetime]
_Row = TypeVar("_Row", Report, Dissemination)


class DeliveryFailed(Exception):
    """One attempt failed; the message (no report content) is kept as last_error."""


@dataclass(frozen=True)
class DeliverySettings:
    timeout_seconds: int = 20
    retry_base_seconds: int = 60
    retry_max_seconds: int = 3600
    lease_seconds: int = 300
    alert_after_seconds: int = 86400
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ca_file: str = ""
    smtp_sender: str = "helpline@localhost"

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliverySettings:
        return cls(
            timeout_seconds=settings.delivery_timeout_seconds,
            retry_base_seconds=settings.delivery_retry_base_seconds,
            retry_max_seconds=settings.delivery_retry_max_seconds,
            lease_seconds=settings.delivery_lease_seconds,
            alert_after_seconds=settings.delivery_alert_after_seconds,
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            smtp_username=settings.smtp_username,
            smtp_password=settings.smtp_password,
            smtp_starttls=settings.smtp_starttls,
            smtp_ca_file=settings.smtp_ca_file,
            smtp_sender=settings.smtp_sender,
        )


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


def backoff(attempts: int, settings: DeliverySettings) -> timedelta:
    """Wait after the `attempts`-th failed attempt: base, 2×base, 4×base… up to the cap."""
    exponent = min(max(attempts - 1, 0), 30)
    seconds = min(settings.retry_max_seconds, settings.retry_base_seconds * 2**exponent)
    return timedelta(seconds=seconds)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 3xx then surfaces as an HTTPError: a failed attempt


def send_https(route: Route, key: str, body: bytes, timeout: float) -> None:
    stamp = _now_stamp()
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked in ivr/core/routing.py)
        route.target,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            IDEMPOTENCY_HEADER: key,
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(route.secret, stamp, key, body),
            "User-Agent": "helpline-delivery/1",
        },
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code} from {route.force_id}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise DeliveryFailed(f"cannot reach {route.force_id}: {reason}") from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status} from {route.force_id}")


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
    # A report never crosses a network in clear: STARTTLS, with the server's certificate
    # checked, unless the SMTP server is on this machine (and even then if asked for).
    # A server that does not offer it fails the attempt, which is retried, never sent plain.
    tls = settings.smtp_starttls or not is_this_machine(settings.smtp_host)
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.timeout_seconds
        ) as smtp:
            if tls:
                context = ssl.create_default_context(cafile=settings.smtp_ca_file or None)
                smtp.starttls(context=context)
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"e-mail to {route.force_id} not accepted: {exc}") from None


@dataclass
class Round:
    delivered: int = 0
    failed: int = 0


class Deliverer:
    """One delivery worker. `clock` is injectable so tests move time instead of sleeping."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        routes: Routes,
        cipher: ContactCipher,
        settings: DeliverySettings,
        clock: Clock = utcnow,
    ) -> None:
        self.sessions = sessions
        self.routes = routes
        self.cipher = cipher
        self.settings = settings
        self.clock = clock

    def run_once(self, limit: int = 100, stop: threading.Event | None = None) -> Round:
        """Deliver what is due now, up to `limit` attempts (fewer if `stop` is set)."""
        done = Round()
        for _ in range(limit):
            if stop is not None and stop.is_set():
                break
            claimed = self.claim()
            if claimed is None:
                break
            if self.deliver(claimed):
                done.delivered += 1
            else:
                done.failed += 1
        return done

    def claim(self) -> int | None:
        """Lease the next due delivery to this worker; its id, or None when none is due."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            stmt = (
                select(Dissemination)
                .where(Dissemination.state == "pending", Dissemination.next_attempt_at <= now)
                .order_by(Dissemination.next_attempt_at, Dissemination.id)
                .limit(1)
            )
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            row = session.scalar(stmt)
            if row is None:
                return None
            row.next_attempt_at = now + timedelta(seconds=self.settings.lease_seconds)
            return row.id

    def deliver(self, dissemination_id: int) -> bool:
        """Attempt one claimed delivery and record the outcome; True when acknowledged."""
        with self.sessions() as session:
            row = session.get_one(Dissemination, dissemination_id)
            report = session.get_one(Report, row.report_id)
            route = self.routes.routes.get(row.force_id)
            error = None
            try:
                if route is None:
                    raise DeliveryFailed(f"no destination configured for {row.force_id}")
                body = to_body(export_report(report, self.routes.forces, self.cipher))
                key, reference = row.idempotency_key, report.reference
                session.rollback()  # no transaction stays open while the network is slow
                self._send(route, key, body, reference)
            except (DeliveryFailed, ExportError) as exc:
                error = str(exc)[:MAX_ERROR_LENGTH]
            except Exception as exc:
                # Whatever went wrong, the delivery is recorded as failed and retried:
                # a worker never stops, and never drops a report, over one bad send.
                log.exception("delivery %s: unexpected error", dissemination_id)
                error = f"unexpected error: {type(exc).__name__}"
            session.rollback()
            self._record(session, dissemination_id, route, error)
        if error:
            log.warning("delivery %s failed: %s", dissemination_id, error)
        return error is None

    def _send(self, route: Route, key: str, body: bytes, reference: str) -> None:
        if route.channel == "https":
            send_https(route, key, body, self.settings.timeout_seconds)
        else:
            send_email(route, key, body, reference, self.settings)

    def _record(
        self, session: Session, dissemination_id: int, route: Route | None, error: str | None
    ) -> None:
        now = self.clock()
        with session.begin():
            # The report first, then its delivery: the same lock order as approval and
            # redirection, and two workers finishing one report's deliveries take turns
            # to decide whether it is now fully disseminated.
            row = session.get_one(Dissemination, dissemination_id)
            report = _locked(session, Report, row.report_id)
            row = _locked(session, Dissemination, dissemination_id)
            row.attempts += 1
            if error is not None:
                row.last_error = error
                row.first_failed_at = row.first_failed_at or now
                row.next_attempt_at = now + backoff(row.attempts, self.settings)
                return
            assert route is not None
            row.state = "delivered"
            row.delivered_at = now
            row.channel, row.destination = route.channel, route.target
            authoriser = session.get(User, report.reviewed_by_id) if report.reviewed_by_id else None
            audit(
                session,
                authoriser,
                "disclose",
                "report",
                report.reference,
                reason="approved for dissemination",
                detail={
                    "to": route.description,
                    "force": route.force_id,
                    "channel": route.channel,
                    "dissemination": row.id,
                    "attempts": row.attempts,
                    "sent_by": "delivery worker",
                },
                at=now,
            )
            session.flush()
            outstanding = session.scalar(
                select(func.count())
                .select_from(Dissemination)
                .where(
                    Dissemination.report_id == report.id,
                    Dissemination.state.not_in(("delivered", "redirected")),
                )
            )
            if outstanding == 0 and report.status == "approved":
                report.status = "disseminated"
                audit(session, None, "disseminated", "report", report.reference, at=now)


def deliveries_of(session: Session, report: Report) -> list[Dissemination]:
    """A report's deliveries, oldest first, for the console (see `state_label`)."""
    stmt = (
        select(Dissemination)
        .where(Dissemination.report_id == report.id)
        .order_by(Dissemination.created_at, Dissemination.id)
    )
    return list(session.scalars(stmt))


def state_label(
    dissemination: Dissemination,
    now: datetime | None = None,
    alert_after: timedelta = timedelta(days=1),
) -> str:
    """One word for the console: delivered, redirected, pending, failing or alert
    (failing for longer than `alert_after`); `first_failed_at` and `last_error` say
    since when and why."""
    if dissemination.state in ("delivered", "redirected"):
        return dissemination.state
    if dissemination.first_failed_at is None:
        return "pending"
    now = now or utcnow()
    since = dissemination.first_failed_at
    if since.tzinfo is None:  # SQLite gives back naive datetimes; all are stored in UTC
        since = since.replace(tzinfo=now.tzinfo)
    return "alert" if now - since > alert_after else "failing"


def failing_deliveries(
    session: Session, now: datetime | None = None, older_than: timedelta = timedelta(days=1)
) -> list[Dissemination]:
    """Deliveries not yet acknowledged that have been failing for longer than `older_than`:
    what the supervisors' alert shows (oldest failure first)."""
    now = now or utcnow()
    stmt = (
        select(Dissemination)
        .where(
            Dissemination.state == "pending",
            Dissemination.first_failed_at.is_not(None),
            Dissemination.first_failed_at <= now - older_than,
        )
        .order_by(Dissemination.first_failed_at, Dissemination.id)
    )
    return list(session.scalars(stmt))


def _locked(session: Session, model: type[_Row], ident: int) -> _Row:
    return session.execute(
        select(model)
        .where(model.id == ident)  # type: ignore[attr-defined]
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
