"""The report as a force receives it: one JSON document, schemas/report.schema.json.

An anonymous report carries nothing of the caller: no contact details, no call
record, no phone number, nothing from Twilio; only what the report says about
the subjects and what happened. A reporter who chose to be contactable has
their contact details (decrypted) under `reporter.contact`, unless they have
been erased at the end of their retention period.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ivr.contact import ContactCipher
from ivr.forces import ForceCatalogue
from ivr.models import Report

SCHEMA_VERSION = "1"
SCHEMA_ID = "https://helpline.invalid/schemas/report.schema.json"


class ExportError(Exception):
    """The report cannot be exported as it stands; the message says why."""


def export_report(report: Report, forces: ForceCatalogue, cipher: ContactCipher) -> dict[str, Any]:
    """The report's JSON record; see schemas/report.schema.json for each field."""
    return {
        "schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "reference": report.reference,
        "origin": report.origin,
        "urgent": bool(report.urgent),
        "created_at": _iso(report.created_at),
        "approved_at": _iso(report.reviewed_at),
        "categories": list(report.categories or []),
        "what": report.what or "",
        "when": {"text": report.when_text or "", "approximate": bool(report.when_approximate)},
        "where": report.where or "",
        "how_known": report.how_known,
        "risk": {"now": report.risk_now, "who": report.risk_who or ""},
        "evidence": report.evidence or "",
        "subjects": [
            {
                "name": subject.name or "",
                "description": subject.description or "",
                "rank": subject.rank or "",
                "collar_number": subject.collar_number or "",
                "role": subject.role or "unknown",
                "force": {"id": subject.force or "unknown", "name": forces.name(subject.force)},
                "station": subject.station or "",
            }
            for subject in report.subjects
        ],
        "reporter": _reporter(report, cipher),
    }


def to_body(record: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed: compact, keys sorted, UTF-8."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _reporter(report: Report, cipher: ContactCipher) -> dict[str, Any]:
    if report.anonymous:
        return {"anonymous": True}
    if report.contact_enc is None:
        return {"anonymous": False, "contact": None, "contact_erased": True}
    contact = cipher.decrypt(report.contact_enc)
    try:
        details = json.loads(contact) if contact else None
    except ValueError:
        details = None
    if not isinstance(details, dict):
        # Wrong key or damaged: the delivery fails (and is retried) rather than
        # sending the report without the way back to its reporter.
        raise ExportError(f"report {report.reference}: contact details cannot be decrypted")
    return {"anonymous": False, "contact": details, "contact_erased": False}


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite gives back naive datetimes; every one we store is UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()
