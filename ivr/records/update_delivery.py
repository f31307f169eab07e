"""Delivering follow-up messages: the same worker, transport, signature and
exactly-once key as a report's delivery (ivr/records/delivery.py), over the
`update_deliveries` outbox written by approval (ivr/records/followup_messages.py).

The body (format "helpline-update/1", schemas/update.schema.json) names the report
by its reference and carries the message: the force's question when it is an
answer, and the reporter's words as approved. Nothing of the reporter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.audit import audit
from ivr.core.routing import Route
from ivr.models import Dissemination, Report, ReportMessage, UpdateDelivery, User
from ivr.records.delivery import Deliverer
from ivr.records.export import to_body
from ivr.records.record import _day

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
    the claim and its lease, concurrency, one force at a time): only the outbox
    table, the body and what a success records differ."""

    outbox = UpdateDelivery

    def _body(self, session: Session, row: Dissemination | UpdateDelivery) -> tuple[bytes, str]:
        assert isinstance(row, UpdateDelivery)
        message = session.get_one(ReportMessage, row.message_id)
        report = session.get_one(Report, message.report_id)
        question = session.get(ReportMessage, message.reply_to_id) if message.reply_to_id else None
        return to_body(update_record(report, message, question)), report.reference

    def _record(
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
            if not self._settle(row, route, error, lease_until, now):
                return False
            if error is not None:
                return True
            assert route is not None
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
