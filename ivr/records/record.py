"""The structured report record: its reference, opening one from a call, the contact
details (encrypted), the rules for submitting, and its one JSON form (schemas/).

Kept out of the console so that online reports and onward routing use the same rules.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ivr.core.audit import audit
from ivr.core.categories import Category
from ivr.core.coarse_time import uk_date
from ivr.core.contact import ContactCipher, parse_phone
from ivr.core.followup import keypad_form
from ivr.core.forces import ForceCatalogue
from ivr.models import (
    RELEASED,
    Call,
    HowKnown,
    Report,
    ReportOrigin,
    ReportStatus,
    ReportSubject,
    SubjectRole,
    User,
)

# Read out over the phone: no 0/O, 1/I/L, 5/S, 8/B or U/V pairs to confuse.
REFERENCE_ALPHABET = "234679ACDEFGHJKMNPQRTWXYZ"
REFERENCE_GROUPS = (4, 4)
SUBJECT_ROLES = tuple(SubjectRole)
HOW_KNOWN = {HowKnown.SAW: "Saw it", HowKnown.TOLD: "Was told", HowKnown.AFFECTED: "Was affected"}
CONTACT_FIELDS = ("name", "phone", "phone_other", "email", "safe_times", "safe_ways")
EXPORT_FORMAT = "helpline-report/1"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "report.schema.json"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def new_reference(session: Session) -> str:
    """A short reference a human can read out, e.g. "7KQD-M3XA", not yet used, and
    whose keypad form (the digits it is typed as on a phone, ivr/core/followup.py) is
    not yet used either: a caller following up types the reference on the keypad."""
    while True:
        chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(sum(REFERENCE_GROUPS)))
        reference = f"{chars[:4]}-{chars[4:]}"
        taken = or_(
            Report.reference == reference, Report.keypad_reference == keypad_form(reference)
        )
        if session.scalar(select(Report.id).where(taken)) is None:
            return reference


def normalise_reference(typed: str) -> str:
    """What a person types or says back ("7kqd m3xa") as a stored reference."""
    chars = re.sub(r"[^0-9A-Z]", "", typed.upper())
    return f"{chars[:4]}-{chars[4:]}" if len(chars) == sum(REFERENCE_GROUPS) else chars


def open_report_for_call(
    session: Session,
    call: Call,
    user: User,
    cipher: ContactCipher,
    categories: dict[str, Category],
) -> Report:
    """The call's report, made on first taking and pre-filled from the IVR's answers."""
    existing = session.scalar(select(Report).where(Report.call_id == call.id))
    if existing is not None:
        # The first handler's phone did not answer and the caller was taken again:
        # the draft follows the call to the handler now speaking to the caller.
        if existing.status == ReportStatus.DRAFT and existing.created_by_id != user.id:
            audit(
                session,
                user,
                "reassign",
                "report",
                existing.reference,
                reason="taking call",
                detail={"from_user_id": existing.created_by_id},
            )
            existing.created_by_id = user.id
        return existing
    anonymous = call.anonymous is not False  # no answer given: treat as anonymous
    reference = new_reference(session)
    report = Report(
        reference=reference,
        keypad_reference=keypad_form(reference),
        origin=ReportOrigin.CALL,
        call_id=call.id,
        status=ReportStatus.DRAFT,
        urgent=bool(call.urgent),
        created_by_id=user.id,
        categories=[call.category] if call.category in categories else [],
        risk_now=_risk_said(call),
        anonymous=anonymous,
        extra={},
    )
    report.subjects = [
        ReportSubject(
            position=0,
            role=SubjectRole(call.role) if call.role in SUBJECT_ROLES else SubjectRole.UNKNOWN,
            force=call.force or "unknown",
        )
    ]
    if not anonymous and call.contact_number_enc:
        number = cipher.decrypt(call.contact_number_enc)
        if number:
            set_contact(report, cipher, {"phone": number})
    session.add(report)
    session.flush()
    audit(
        session,
        user,
        "create",
        "report",
        report.reference,
        reason="taking call",
        detail={"call_id": call.id, "prefilled": ["force", "role", "category", "urgent"]},
    )
    return report


def _risk_said(call: Call) -> bool | None:
    """What the caller answered to "is anyone at risk now?": yes, no, or nothing sure.

    The `urgent` column is only for the queue's order (a No and a Not sure both leave
    it False); the answer itself keeps them apart."""
    said = (call.answers or {}).get("urgent")
    if call.urgent or said is True:
        return True
    return False if said is False else None


class ExportError(Exception):
    """The report cannot be exported as it stands; the message says why."""


def get_contact(report: Report, cipher: ContactCipher) -> dict[str, str]:
    if report.anonymous or not report.contact_enc:
        return {}
    text = cipher.decrypt(report.contact_enc)
    if text is None:
        # Wrong key or damaged: never pass the report on without its way back to the reporter.
        raise ExportError(f"report {report.reference}: contact details cannot be decrypted")
    return json.loads(text)


def set_contact(report: Report, cipher: ContactCipher, contact: dict[str, str]) -> None:
    """Contact details are only ever stored encrypted; an anonymous report has none."""
    kept = {k: str(contact.get(k) or "").strip() for k in CONTACT_FIELDS}
    if report.anonymous or not any(kept.values()):
        report.contact_enc = None
        return
    report.contact_enc = cipher.encrypt(json.dumps(kept))


def submission_problems(
    report: Report,
    contact: dict[str, str],
    forces: ForceCatalogue,
    categories: dict[str, Category],
) -> dict[str, str]:
    """What stops the report being submitted: form field name -> a sentence saying what to do."""
    problems: dict[str, str] = {}
    if not report.categories:
        problems["categories"] = "Choose at least one category."
    elif any(c not in categories for c in report.categories):
        problems["categories"] = "Choose categories from the list."
    if len(report.what.strip()) < 10:
        problems["what"] = "Say what happened, in a sentence or more."
    if not report.when_text.strip():
        problems["when_text"] = "Say when it happened, even roughly (e.g. “spring 2024”)."
    if report.how_known not in HOW_KNOWN:
        problems["how_known"] = "Choose how the caller knows: saw it, was told, or was affected."
    if report.risk_now is None:
        problems["risk_now"] = "Say whether anyone is at risk now."
    elif report.risk_now and not report.risk_who.strip():
        problems["risk_who"] = "Say who is at risk."
    if not report.subjects:
        problems["subjects"] = "Add at least one person the report is about."
    for index, subject in enumerate(report.subjects):
        prefix = f"subjects-{index}-"
        if not subject.name.strip() and not subject.description.strip():
            problems[prefix + "name"] = (
                "Give a name, or describe the person if the name is unknown."
            )
        if subject.role not in SUBJECT_ROLES:
            problems[prefix + "role"] = "Choose officer, staff, volunteer or not known."
        if subject.force != "unknown" and subject.force not in forces.forces:
            problems[prefix + "force"] = "Choose a force from the list, or “Not known”."
    if not report.anonymous:
        problems.update(contact_problems(contact))
    return problems


def contact_problems(contact: dict[str, str]) -> dict[str, str]:
    problems: dict[str, str] = {}
    phone, other, email = (contact.get(k, "").strip() for k in ("phone", "phone_other", "email"))
    if not (phone or other or email):
        problems["contact_phone"] = (
            "Give a phone number or an e-mail address, or mark the report anonymous."
        )
    if phone and parse_phone(phone) is None:
        problems["contact_phone"] = "That is not a phone number we can call. Check the digits."
    if other and parse_phone(other) is None:
        problems["contact_phone_other"] = (
            "That is not a phone number we can call. Check the digits."
        )
    if email and not _EMAIL.match(email):
        problems["contact_email"] = "That is not an e-mail address (it needs an @ and a domain)."
    return problems


def normalised_contact(contact: dict[str, str]) -> dict[str, str]:
    """Phones in E.164 once they are valid (at submission)."""
    result = dict(contact)
    for key in ("phone", "phone_other"):
        number = parse_phone(result.get(key, "")) if result.get(key) else None
        if number:
            result[key] = number
    return result


def export_report(
    report: Report,
    forces: ForceCatalogue,
    categories: dict[str, Category],
    cipher: ContactCipher,
) -> dict[str, Any]:
    """The report's one JSON form (schemas/report.schema.json): what onward routing carries.
    An anonymous report's export has no contact field at all."""
    reporter: dict[str, Any] = {"anonymous": report.anonymous}
    if not report.anonymous and report.contact_enc is None and report.contact_erased_at:
        reporter.update(contact=None, contact_erased=True)
    elif not report.anonymous:
        contact = normalised_contact(get_contact(report, cipher))
        phones = [contact[k] for k in ("phone", "phone_other") if contact.get(k)]
        reporter["contact"] = {
            "name": contact.get("name", ""),
            "phones": phones,
            "email": contact.get("email", ""),
            "safe_times": contact.get("safe_times", ""),
            "safe_ways": contact.get("safe_ways", ""),
        }
        reporter["contact_erased"] = False
    return {
        "format": EXPORT_FORMAT,
        "reference": report.reference,
        "origin": report.origin,
        "status": report.status,
        "urgent": bool(report.urgent),
        # Dates, never times of day: a report's moments follow its call's within seconds,
        # and the force being reported on could match them with phone records of calls
        # to the line. For every report alike, so the form says nothing of the reporter.
        "created_at": _day(report.created_at),
        "submitted_at": _day(report.submitted_at),
        "approved_at": _day(report.reviewed_at) if report.status in RELEASED else None,
        "categories": [
            {"key": key, "wording": categories[key].wording if key in categories else key}
            for key in report.categories
        ],
        "subjects": [
            {
                "name": s.name,
                "description": s.description,
                "rank": s.rank,
                "collar_number": s.collar_number,
                "role": s.role,
                "force": {"id": s.force, "name": forces.name(s.force)},
                "station": s.station,
            }
            for s in report.subjects
        ],
        "what": report.what,
        "when": {"text": report.when_text, "approximate": bool(report.when_approximate)},
        "where": report.where,
        "how_known": report.how_known,
        "risk": {"now": report.risk_now, "who": report.risk_who},
        "evidence": report.evidence,
        "reporter": reporter,
    }


def _day(moment: Any) -> str | None:
    """The UK calendar day, e.g. "2026-12-01"."""
    day = uk_date(moment)
    return day.isoformat() if day is not None else None
