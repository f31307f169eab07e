"""Delivering follow-up messages: the same worker, transport, signature and
exactly-once key as a report's delivery (ivr/records/delivery.py), over the
`update_deliveries` outbox written by approval (ivr/records/followup_messages.py).

The body (format "helpline-update/1", schemas/update.schema.json) names the report
by its reference and carries the message: the force's question when it is an
answer, and the reporter's words as approved. Nothing of the reporter.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from ivr.core.audit import audit
from ivr.models import Report, ReportMessage, UpdateDelivery, User
from ivr.records.delivery import MAX_ERROR_LENGTH, Deliverer, DeliveryFailed, backoff
from ivr.records.export import to_body
from ivr.records.record import _iso

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
            "approved_at": _iso(message.reviewed_at),
        },
    }


class UpdateDeliverer(Deliverer):
    """Sends due update deliveries; `run_once` (inherited) claims and delivers them."""

    def claim(self) -> int | None:
        now = self.clock()
        with self.sessions() as session, session.begin():
            stmt = (
                select(UpdateDelivery)
                .where(UpdateDelivery.state == "pending", UpdateDelivery.next_attempt_at <= now)
                .order_by(UpdateDelivery.next_attempt_at, UpdateDelivery.id)
                .limit(1)
            )
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            row = session.scalar(stmt)
            if row is None:
                return None
            row.next_attempt_at = now + timedelta(seconds=self.settings.lease_seconds)
            return row.id

    def deliver(self, delivery_id: int) -> bool:
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
            now = self.clock()
            with session.begin():
                row = session.execute(
                    select(UpdateDelivery)
                    .where(UpdateDelivery.id == delivery_id)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                ).scalar_one()
                row.attempts += 1
                if error is not None:
                    row.last_error = error
                    row.first_failed_at = row.first_failed_at or now
                    row.next_attempt_at = now + backoff(row.attempts, self.settings)
                else:
                    assert route is not None
                    row.state = "delivered"
                    row.delivered_at = now
                    row.channel, row.destination = route.channel, route.target
                    message = session.get_one(ReportMessage, row.message_id)
                    authoriser = (
                        session.get(User, message.reviewed_by_id)
                        if message.reviewed_by_id
                        else None
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
        if error:
            log.warning("update delivery %s failed: %s", delivery_id, error)
        return error is None
