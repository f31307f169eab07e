"""What a conflict page shows: the report as stored now beside what this person typed,
field by field, and who saved it since their page was drawn (ivr/records/versions.py).

Nothing typed is lost: the page's form holds what was typed, with the version now
stored, so saving again keeps exactly what the person chose to keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from handler_console.clock import uk_now_words
from handler_console.words import ACTIONS, category_name, field_names, force_name, role_label
from ivr.core.db import get_session
from ivr.models import Report, User
from ivr.records import pii, versions
from ivr.records.drafts import CONTACT_LABELS, DraftEdit
from ivr.records.limits import LABELS
from ivr.records.record import CONTACT_FIELDS, HOW_KNOWN

SUBJECT_TEXT = ("name", "rank", "collar_number", "station", "description")


@dataclass(frozen=True)
class Difference:
    field: str  # the form field's name, to link to it
    label: str
    stored: str
    yours: str


def since(report: Report, started_from: int | None) -> list[dict[str, Any]]:
    """Who saved the report after the version a page was drawn from, when, and what
    ({"who": "sue", "at": ..., "what": "Removed identifying details (What happened)"})."""
    entries = versions.changes_since(get_session(), report, started_from)
    ids = {e.user_id for e in entries if e.user_id is not None}
    names: dict[int, str] = {}
    if ids:
        rows = get_session().execute(select(User.id, User.username).where(User.id.in_(ids)))
        names = {user_id: name for user_id, name in rows}
    found = []
    for entry in entries:
        changed = (entry.detail or {}).get("changed") or []
        fields = f" ({field_names(pii.field_words(name) for name in changed)})" if changed else ""
        found.append(
            {
                "who": names.get(entry.user_id, "someone") if entry.user_id else "the system",
                "at": entry.at,
                "what": ACTIONS.get(entry.action, entry.action) + fields,
            }
        )
    return found


def since_sentence(changes: list[dict[str, Any]]) -> str:
    """The same as one line of plain text: "sue at 14:05:12 GMT: Approved"."""
    return "; ".join(f"{c['who']} at {uk_now_words(c['at'])}: {c['what']}" for c in changes)


def draft_differences(report: Report, edit: DraftEdit, contact: dict[str, str]) -> list[Difference]:
    """The handler's form as typed against the report as stored."""
    found: list[Difference] = []

    def compare(field: str, label: str, stored: Any, yours: Any) -> None:
        stored_text, your_text = _text(stored), _text(yours)
        if _same(stored_text, your_text):
            return
        found.append(Difference(field, label, stored_text, your_text))

    compare(
        "categories",
        "Categories",
        ", ".join(category_name(c) for c in report.categories or []),
        ", ".join(category_name(c) for c in edit.categories),
    )
    for name in ("what", "when_text", "where"):
        compare(name, LABELS[name], getattr(report, name), getattr(edit, name))
    compare("when_approximate", "When: approximate", report.when_approximate, edit.when_approximate)
    compare(
        "how_known",
        "How the caller knows",
        _how_known(report.how_known),
        _how_known(edit.how_known),
    )
    compare("risk_now", "Is anyone at risk now?", report.risk_now, edit.risk_now)
    for name in ("risk_who", "evidence"):
        compare(name, LABELS[name], getattr(report, name), getattr(edit, name))
    for index in range(max(len(report.subjects), len(edit.subjects))):
        stored = report.subjects[index] if index < len(report.subjects) else None
        yours = edit.subjects[index] if index < len(edit.subjects) else None
        person = f"Person {index + 1}: "
        if stored is None or yours is None:
            gone = "(not in this version)"
            compare(
                f"subject-{index}",
                f"Person {index + 1}",
                _person(stored) if stored is not None else gone,
                _person(yours) if yours is not None else gone,
            )
            continue
        for name in SUBJECT_TEXT:
            compare(
                f"subjects-{index}-{name}",
                person + LABELS[name],
                getattr(stored, name),
                getattr(yours, name).strip(),
            )
        compare(
            f"subjects-{index}-role",
            person + "role",
            role_label(stored.role),
            role_label(yours.role),
        )
        compare(
            f"subjects-{index}-force",
            person + "force",
            force_name(stored.force),
            force_name(yours.force),
        )
    if not report.anonymous:
        for key in CONTACT_FIELDS:
            compare(
                f"contact_{key}",
                CONTACT_LABELS[key],
                contact.get(key, ""),
                edit.contact.get(key, ""),
            )
    return found


def sanitise_differences(report: Report, typed: dict[str, Any]) -> list[Difference]:
    """The supervisor's edit as typed (field name -> text, subjects as a list of dicts)
    against the report as stored."""
    found = []
    for name in pii.REPORT_FIELDS:
        stored, yours = _text(getattr(report, name)), _text(typed.get(name))
        if not _same(stored, yours):
            found.append(Difference(name, LABELS[name], stored, yours))
    subjects = typed.get("subjects") or []
    for index, subject in enumerate(report.subjects):
        entry = subjects[index] if index < len(subjects) else {}
        for name in pii.SUBJECT_FIELDS:
            stored, yours = _text(getattr(subject, name)), _text(entry.get(name)).strip()
            if not _same(stored, yours):
                found.append(
                    Difference(
                        f"subjects-{index}-{name}",
                        f"Person {index + 1}: {LABELS[name]}",
                        stored,
                        yours,
                    )
                )
    return found


def _how_known(code: str | None) -> str:
    return next((words for key, words in HOW_KNOWN.items() if key == code), "")


def _person(subject: Any) -> str:
    parts = [getattr(subject, name) for name in ("name", "rank", "collar_number", "description")]
    return " · ".join(p for p in parts if p) or "(nothing typed)"


def _text(value: Any) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return "" if value is None else str(value)


def _same(stored: str, yours: str) -> bool:
    """Browsers post a textarea's line breaks as CRLF: not a difference."""
    return stored.replace("\r\n", "\n") == yours.replace("\r\n", "\n")
