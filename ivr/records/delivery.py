"""The delivery worker: sends each approved report to its force until acknowledged.

The outbox is the `disseminations` table, written by approval (ivr/records/review.py).
A worker claims one due row at a time and leases it by moving its next attempt
`lease` into the future, commits, then sends without holding a transaction open.
The claim is a compare-and-set (the row is leased only if its next attempt is
still the one the worker read), so two workers never claim the same row, on
PostgreSQL (where `FOR UPDATE SKIP LOCKED` also keeps them from queueing on one
row) and on SQLite alike. The lease's end is the worker's ticket: the outcome of
a send is recorded only while the row is pending with that same lease, so a
worker whose lease ran out records nothing (the worker that took over does).

Each attempt has an overall deadline (ivr/records/sending.py), shorter than the
lease (the settings refuse otherwise), and a worker sends up to `concurrency`
deliveries at once, never two to one force: a force that hangs holds one sender
until its deadline, never the reports due to other forces.


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

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from ivr.core.audit import audit
from ivr.core.contact import ContactCipher
from ivr.core.routing import Route, Routes
from ivr.core.settings import Settings
from ivr.models import (
    Channel,
    Dissemination,
    DisseminationState,
    Report,
    ReportStatus,
    UpdateDelivery,
    User,
    utcnow,
)
from ivr.records.delivery_state import FINISHED
from ivr.records.export import ExportError, export_report, to_body
from ivr.records.sending import DeliveryFailed, send_email, send_https

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 500

Clock = Callable[[], datetime]
_Row = TypeVar("_Row", Report, Dissemination)


@dataclass(frozen=True)
class DeliverySettings:
    """What the worker needs of the settings. No defaults: from_settings gives the
    configured values (config/default.toml holds the defaults)."""

    timeout_seconds: int
    retry_base_seconds: int
    retry_max_seconds: int
    lease_seconds: int
    alert_after_seconds: int
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password: str
    smtp_starttls: bool
    smtp_ca_file: str
    smtp_sender: str
    concurrency: int

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
            concurrency=settings.delivery_concurrency,
        )


def backoff(attempts: int, settings: DeliverySettings) -> timedelta:
    """Wait after the `attempts`-th failed attempt: base, 2×base, 4×base… up to the cap."""
    exponent = min(max(attempts - 1, 0), 30)
    seconds = min(settings.retry_max_seconds, settings.retry_base_seconds * 2**exponent)
    return timedelta(seconds=seconds)


@dataclass
class Round:
    delivered: int = 0
    failed: int = 0
    # Forces that failed in this round are not tried again in it: their other reports
    # wait for the next round rather than each costing another deadline now.
    failed_forces: set[str] = field(default_factory=set, repr=False, compare=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, force: str, acknowledged: bool) -> None:
        with self.lock:
            if acknowledged:
                self.delivered += 1
            else:
                self.failed += 1
                self.failed_forces.add(force)


class Deliverer:
    """One delivery worker over an outbox table (`outbox`: a report's deliveries here;
    ivr/records/update_delivery.py is the same worker over follow-up messages, giving
    only the body and what a success records). `clock` is injectable so tests move
    time instead of sleeping."""

    outbox: type[Dissemination] | type[UpdateDelivery] = Dissemination

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
        # What this worker holds: delivery id -> (force, the end of its lease).
        self._held: dict[int, tuple[str, datetime]] = {}
        self._held_lock = threading.Lock()
        # One claim at a time in this worker: each sees the forces the others hold.
        self._claim_lock = threading.Lock()

    def run_once(self, limit: int = 100, stop: threading.Event | None = None) -> Round:
        """Deliver what is due now, up to `limit` attempts (fewer if `stop` is set), up
        to `concurrency` at once and never two at once to one force."""
        done = Round()
        budget = iter(range(limit))
        budget_lock = threading.Lock()

        failures: list[BaseException] = []

        def sender() -> None:
            try:
                send_while_due()
            except Exception as exc:  # the database away: for the worker's loop to say
                failures.append(exc)

        def send_while_due() -> None:
            while (stop is None or not stop.is_set()) and not failures:
                with budget_lock:
                    if next(budget, None) is None:
                        return
                with done.lock:
                    skip = set(done.failed_forces)
                claimed = self.claim(skip)
                if claimed is None:
                    return
                force = self._held[claimed][0]
                done.count(force, self.deliver(claimed))

        threads = [
            threading.Thread(target=sender, name=f"delivery-{n}", daemon=True)
            for n in range(max(1, self.settings.concurrency) - 1)
        ]
        for thread in threads:
            thread.start()
        sender()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
        return done

    def claim(self, skip: set[str] | None = None) -> int | None:
        """Lease the next due delivery to this worker; its id, or None when none is due
        (or when only forces in `skip`, or that this worker is sending to, have any)."""
        with self._claim_lock:
            return self._claim(skip or set())

    def _claim(self, skip: set[str]) -> int | None:
        outbox = self.outbox
        for _ in range(5):  # another worker may take the row between our read and write
            now = self.clock()
            lease_until = now + timedelta(seconds=self.settings.lease_seconds)
            with self._held_lock:
                busy = {force for force, _ in self._held.values()} | skip
            with self.sessions() as session, session.begin():
                stmt = (
                    select(outbox.id, outbox.force_id, outbox.next_attempt_at)
                    .where(
                        outbox.state == DisseminationState.PENDING,
                        outbox.next_attempt_at <= now,
                    )
                    .order_by(outbox.next_attempt_at, outbox.id)
                    .limit(1)
                )
                if busy:
                    stmt = stmt.where(outbox.force_id.not_in(busy))
                if session.get_bind().dialect.name == "postgresql":
                    stmt = stmt.with_for_update(skip_locked=True)
                row = session.execute(stmt).one_or_none()
                if row is None:
                    return None
                taken = session.execute(
                    update(outbox)
                    .where(
                        outbox.id == row.id,
                        outbox.state == DisseminationState.PENDING,
                        outbox.next_attempt_at == row.next_attempt_at,
                    )
                    .values(next_attempt_at=lease_until)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]  # an UPDATE/DELETE's result is a CursorResult
                    with self._held_lock:
                        self._held[row.id] = (row.force_id, lease_until)
                    return int(row.id)
        return None

    def deliver(self, dissemination_id: int) -> bool:
        """Attempt one claimed delivery and record the outcome; True when acknowledged."""
        with self._held_lock:
            held = self._held.get(dissemination_id)
        lease_until = held[1] if held else None
        try:
            return self._attempt(dissemination_id, lease_until)
        finally:
            with self._held_lock:
                self._held.pop(dissemination_id, None)

    def _attempt(self, delivery_id: int, lease_until: datetime | None) -> bool:
        with self.sessions() as session:
            row = session.get_one(self.outbox, delivery_id)
            assert isinstance(row, (Dissemination, UpdateDelivery))
            route = self.routes.routes.get(row.force_id)
            error = None
            try:
                if route is None:
                    raise DeliveryFailed(f"no destination configured for {row.force_id}")
                body, reference = self._body(session, row)
                key = row.idempotency_key
                session.rollback()  # no transaction stays open while the network is slow
                self._send(route, key, body, reference)
            except (DeliveryFailed, ExportError) as exc:
                error = str(exc)[:MAX_ERROR_LENGTH]
            except Exception as exc:
                # Whatever went wrong, the delivery is recorded as failed and retried:
                # a worker never stops, and never drops a report, over one bad send.
                log.exception("%s %s: unexpected error", self.outbox.__tablename__, delivery_id)
                error = f"unexpected error: {type(exc).__name__}"
            session.rollback()
            recorded = self._record(session, delivery_id, route, error, lease_until)
        what = f"{self.outbox.__tablename__} {delivery_id}"
        if not recorded:
            log.warning(
                "%s: this worker's lease ran out during the attempt; the worker holding it "
                "now records the delivery",
                what,
            )
            return False
        if error:
            log.warning("%s failed: %s", what, error)
        return error is None

    def _body(self, session: Session, row: Dissemination | UpdateDelivery) -> tuple[bytes, str]:
        """What to send for this outbox row, and the report's reference."""
        assert isinstance(row, Dissemination)
        report = session.get_one(Report, row.report_id)
        return to_body(export_report(report, self.routes.forces, self.cipher)), report.reference

    def _send(self, route: Route, key: str, body: bytes, reference: str) -> None:
        if route.channel == Channel.HTTPS:
            send_https(route, key, body, self.settings.timeout_seconds)
        else:
            send_email(route, key, body, reference, self.settings)

    def _settle(
        self,
        row: Dissemination | UpdateDelivery,
        route: Route | None,
        error: str | None,
        lease_until: datetime | None,
        now: datetime,
    ) -> bool:
        """Record an attempt on a locked outbox row: delivered, or failed and when to
        retry; False (and nothing recorded) when this worker no longer holds the row."""
        if row.state != DisseminationState.PENDING or (
            lease_until is not None and row.next_attempt_at != lease_until
        ):
            return False
        row.attempts += 1
        if error is not None:
            row.last_error = error
            row.first_failed_at = row.first_failed_at or now
            row.next_attempt_at = now + backoff(row.attempts, self.settings)
            return True
        assert route is not None
        row.state = DisseminationState.DELIVERED
        row.delivered_at = now
        row.channel, row.destination = route.channel, route.target
        return True

    def _record(
        self,
        session: Session,
        dissemination_id: int,
        route: Route | None,
        error: str | None,
        lease_until: datetime | None,
    ) -> bool:
        """Record the attempt, if this worker still holds the delivery; False if not."""
        now = self.clock()
        with session.begin():
            # The report first, then its delivery: the same lock order as approval and
            # redirection, and two workers finishing one report's deliveries take turns
            # to decide whether it is now fully disseminated.
            row = session.get_one(Dissemination, dissemination_id)
            report = _locked(session, Report, row.report_id)
            row = _locked(session, Dissemination, dissemination_id)
            if not self._settle(row, route, error, lease_until, now):
                return False
            if error is not None:
                return True
            assert route is not None
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
                    Dissemination.state.not_in(FINISHED),
                )
            )
            if outstanding == 0 and report.status == ReportStatus.APPROVED:
                report.status = ReportStatus.DISSEMINATED
                audit(session, None, "disseminated", "report", report.reference, at=now)
        return True


def _locked(session: Session, model: type[_Row], ident: int) -> _Row:
    return session.execute(
        select(model)
        .where(model.id == ident)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
