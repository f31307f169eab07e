"""The report as a force receives it: the bytes of its one JSON form.

The record itself is `ivr.records.record.export_report` (schemas/report.schema.json).
An anonymous report carries nothing of the caller: no contact details, no call
record, no phone number, nothing from Twilio.
"""

from __future__ import annotations

import json
from typing import Any

from ivr.core.categories import load_categories
from ivr.core.contact import ContactCipher
from ivr.core.forces import ForceCatalogue
from ivr.core.settings import ConfigPaths
from ivr.models import Report
from ivr.records.record import ExportError
from ivr.records.record import export_report as _export_report

__all__ = ["ExportError", "export_report", "to_body"]


def export_report(report: Report, forces: ForceCatalogue, cipher: ContactCipher) -> dict[str, Any]:
    """The report's JSON record, with the category wordings from the settings' config/."""
    categories = load_categories(ConfigPaths.from_environ().config_dir)
    return _export_report(report, forces, categories, cipher)


def to_body(record: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed: compact, keys sorted, UTF-8."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
