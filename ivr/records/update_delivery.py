"""Delivering follow-up messages: the same worker, transport, signature and
exactly-once key as a report's delivery (ivr/records/delivery.py), over the
`update_deliveries` outbox written by approval (ivr/records/followup_messages.py).

The body (format "helpline-update/1", schemas/update.schema.json) names the report
by its reference and carries the message: the force's question when it is an
answer, and the reporter's words as approved. Nothing of the reporter.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.core.audit import audit
from ivr.core.routing import Route
from ivr.models import Report, ReportMessage, UpdateDelivery, User
from ivr.models.enums import DisseminationState
from ivr.records.delivery import (
    MAX_ERROR_LENGTH,
    Deliverer,
    DeliveryFailed,
    backoff,
)
from ivr.records.export import to_body
from ivr.records.record import _day

log = logging.getLogger(__name__)
UPDATE_FORMAT = "helpline-update/1"


def update_record(
    report: Report, message: ReportMessage, question: ReportMessage | None
) -> dict[str, Any]:
    return {
        "format": UPDATE_FORMAT,
        "reference": report.reference,
        "update": {
            "id": message.id,
            "kind": message.kind,
            "question": question.text if question is not None else None,
            "text": message.text,
            # A date, never a time of day: like a report's (ivr/records/record.py).
            "approved_at": _day(message.reviewed_at),
        },
    }


class UpdateDeliverer(Deliverer):
    """Sends due update deliveries with the report worker's machinery (`run_once`,
    concurrency, one force at a time, the lease as the worker's ticket): only the
    outbox table and the body differ."""

    def _claim(self, skip: set[str]) -> int | None:
        for _ in range(5):  # another worker may take the row between our read and write
            now = self.clock()
            lease_until = now + timedelta(seconds=self.settings.lease_seconds)
            with self._held_lock:
                busy = {force for force, _ in self._held.values()} | skip
            with self.sessions() as session, session.begin():
                stmt = (
                    select(
                        UpdateDelivery.id, UpdateDelivery.force_id, UpdateDelivery.next_attempt_at
                    )
                    .where(
                        UpdateDelivery.state == DisseminationState.PENDING,
                        UpdateDelivery.next_attempt_at <= now,
                    )
                    .order_by(UpdateDelivery.next_attempt_at, UpdateDelivery.id)
                    .limit(1)
                )
                if busy:
                    stmt = stmt.where(UpdateDelivery.force_id.not_in(busy))
                if session.get_bind().dialect.name == "postgresql":
                    stmt = stmt.with_for_update(skip_locked=True)
                row = session.execute(stmt).one_or_none()
                if row is None:
                    return None
                taken = session.execute(
                    update(UpdateDelivery)
                    .where(
                        UpdateDelivery.id == row.id,
                        UpdateDelivery.state == DisseminationState.PENDING,
                        UpdateDelivery.next_attempt_at == row.next_attempt_at,
                    )
                    .values(next_attempt_at=lease_until)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]  # an UPDATE/DELETE's result is a CursorResult
                    with self._held_lock:
                        self._held[row.id] = (row.force_id, lease_until)
                    return int(row.id)
        return None

    def _attempt(self, delivery_id: int, lease_until: datetime | None) -> bool:
        with self.sessions() as session:
            row = session.get_one(UpdateDelivery, delivery_id)
            message = session.get_one(ReportMessage, row.message_id)
            report = session.get_one(Report, message.report_id)
            question = (
                session.get(ReportMessage, message.reply_to_id) if message.reply_to_id else None
            )
            route = self.routes.routes.get(row.force_id)
            error = None
            try:
                if route is None:
                    raise DeliveryFailed(f"no destination configured for {row.force_id}")
                body = to_body(update_record(report, message, question))
                key, reference = row.idempotency_key, report.reference
                session.rollback()  # no transaction stays open while the network is slow
                self._send(route, key, body, reference)
            except DeliveryFailed as exc:
                error = str(exc)[:MAX_ERROR_LENGTH]
            except Exception as exc:
                log.exception("update delivery %s: unexpected error", delivery_id)
                error = f"unexpected error: {type(exc).__name__}"
            session.rollback()
            recorded = self._record_update(session, delivery_id, route, error, lease_until)
        if not recorded:
            log.warning("update delivery %s: lease ran out; the new holder records it", delivery_id)
            return False
        if error:
            log.warning("update delivery %s failed: %s", delivery_id, error)
        return error is None

    def _record_update(
        self,
        session: Session,
        delivery_id: int,
        route: Route | None,
        error: str | None,
        lease_until: datetime | None,
    ) -> bool:
        now = self.clock()
        with session.begin():
            row = session.execute(
                select(UpdateDelivery)
                .where(UpdateDelivery.id == delivery_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).scalar_one()
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
            message = session.get_one(ReportMessage, row.message_id)
            report = session.get_one(Report, message.report_id)
            authoriser = (
                session.get(User, message.reviewed_by_id) if message.reviewed_by_id else None
            )
            audit(
                session,
                authoriser,
                "disclose",
                "report",
                report.reference,
                reason="approved follow-up message",
                detail={"to": route.description, "force": route.force_id,
                        "message": message.id, "update_delivery": row.id},
                at=now,
            )  # fmt: skip
        return True
