"""An online report: the reporter's answers kept while they write (encrypted, found
only by a random token in their cookie), and the report made from them.

The report arrives in the console as a draft of origin "online" that no handler owns
yet: a handler takes it, checks and completes it, and submits it to the same review
and routing as a call's (ivr/records/review.py). It is made with its follow-up code
(ivr/core/followup.py), returned once for the reporter's screen.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ivr.core.audit import audit
from ivr.core.categories import Category
from ivr.core.contact import ContactCipher
from ivr.core.followup import issue_code, keypad_form
from ivr.core.forces import ForceCatalogue
from ivr.models import (
    HowKnown,
    OnlineDraft,
    Report,
    ReportOrigin,
    ReportStatus,
    ReportSubject,
    SubjectRole,
    utcnow,
)
from ivr.records import pii
from ivr.records.record import SUBJECT_ROLES, new_reference, normalised_contact, set_contact

DRAFT_KEPT_FOR = timedelta(hours=24)
# The answers whose text a reporter typed, in the order the check page shows them.
FREE_TEXT = (
    "risk_who",
    "what",
    "when_text",
    "where",
    "subject_name",
    "subject_rank",
    "subject_collar_number",
    "subject_station",
    "subject_description",
)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_draft(
    session: Session, token: str | None, cipher: ContactCipher, now: datetime | None = None
) -> dict[str, Any]:
    """The answers saved under this token, or {} (none, expired or undecryptable)."""
    if not token:
        return {}
    now = now or utcnow()
    draft = session.scalar(select(OnlineDraft).where(OnlineDraft.token_hash == _token_hash(token)))
    if draft is None:
        return {}
    if draft.expires_at <= now:
        return {}
    text = cipher.decrypt(draft.answers_enc)
    return json.loads(text) if text else {}


def save_draft(
    session: Session,
    token: str,
    answers: dict[str, Any],
    cipher: ContactCipher,
    now: datetime | None = None,
) -> None:
    """Keep the answers (encrypted) for DRAFT_KEPT_FOR after the last save; clear out
    other reporters' expired drafts on the way. The caller commits."""
    now = now or utcnow()
    session.execute(delete(OnlineDraft).where(OnlineDraft.expires_at <= now))
    key = _token_hash(token)
    draft = session.scalar(select(OnlineDraft).where(OnlineDraft.token_hash == key))
    if draft is None:
        draft = OnlineDraft(token_hash=key)
        session.add(draft)
    draft.answers_enc = cipher.encrypt(json.dumps(answers))
    draft.expires_at = now + DRAFT_KEPT_FOR


def delete_draft(session: Session, token: str) -> None:
    session.execute(delete(OnlineDraft).where(OnlineDraft.token_hash == _token_hash(token)))


def identifying_findings(answers: dict[str, Any]) -> list[pii.Finding]:
    """What in the reporter's own text could identify them: the supervisors' PII check."""
    findings: list[pii.Finding] = []
    for name in FREE_TEXT:
        findings.extend(pii.find_in_text(str(answers.get(name) or ""), name))
    return findings


def create_online_report(
    session: Session,
    answers: dict[str, Any],
    cipher: ContactCipher,
    forces: ForceCatalogue,
    categories: dict[str, Category],
) -> tuple[Report, str]:
    """The report made from complete answers, and its follow-up code (shown once).
    The caller commits."""
    anonymous = answers.get("anonymous") != "no"
    risk_now = answers.get("risk_now") == "yes"
    force = answers.get("force") or "unknown"
    role = answers.get("role") or SubjectRole.UNKNOWN
    known = answers.get("how_known")
    reference = new_reference(session)
    report = Report(
        reference=reference,
        keypad_reference=keypad_form(reference),
        origin=ReportOrigin.ONLINE,
        status=ReportStatus.DRAFT,
        urgent=risk_now,
        created_by_id=None,
        categories=[c for c in answers.get("categories", []) if c in categories],
        what=str(answers.get("what", "")).strip(),
        when_text=str(answers.get("when_text", "")).strip(),
        when_approximate=False,
        where=str(answers.get("where", "")).strip(),
        how_known=HowKnown(known) if known in tuple(HowKnown) else None,
        risk_now=risk_now,
        risk_who=str(answers.get("risk_who", "")).strip() if risk_now else "",
        anonymous=anonymous,
        extra={},
    )
    report.subjects = [
        ReportSubject(
            position=0,
            name=str(answers.get("subject_name", "")).strip(),
            rank=str(answers.get("subject_rank", "")).strip(),
            collar_number=str(answers.get("subject_collar_number", "")).strip(),
            station=str(answers.get("subject_station", "")).strip(),
            description=str(answers.get("subject_description", "")).strip(),
            role=SubjectRole(role) if role in SUBJECT_ROLES else SubjectRole.UNKNOWN,
            force=force if force in forces.forces else "unknown",
        )
    ]
    if not anonymous:
        contact = {
            "name": str(answers.get("contact_name", "")),
            "phone": str(answers.get("contact_phone", "")),
            "email": str(answers.get("contact_email", "")),
            "safe_times": str(answers.get("contact_safe_times", "")),
        }
        set_contact(report, cipher, normalised_contact(contact))
    session.add(report)
    session.flush()
    code = issue_code(session, report)
    audit(session, None, "create", "report", report.reference, reason="online report")
    return report, code
