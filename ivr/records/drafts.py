"""A handler's report while they write it: save a draft any time, submit it when complete.

The console turns the form into a `DraftEdit` (plain data, no Flask) and calls
`save_draft`; an online report or a script would do the same. Drafts accept
anything typed, clipped to the columns' sizes, so nothing typed is lost; the
rules for submitting are `record.submission_problems`. Every change is audited
by the names of the fields it touched, never their values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from ivr.core.audit import audit
from ivr.core.categories import Category
from ivr.core.contact import ContactCipher
from ivr.core.forces import ForceCatalogue
from ivr.models import HowKnown, Report, ReportStatus, ReportSubject, SubjectRole, User, utcnow
from ivr.records.record import (
    CONTACT_FIELDS,
    get_contact,
    normalised_contact,
    set_contact,
    submission_problems,
)

MAX_SUBJECTS = 20
EDITABLE = (ReportStatus.DRAFT, ReportStatus.RETURNED)
# How long each text may be: the database's column sizes (and sane limits for Text).
TEXT_LIMITS = {"what": 20000, "when_text": 200, "where": 5000, "risk_who": 5000, "evidence": 10000}
SUBJECT_LIMITS = {
    "name": 200,
    "description": 5000,
    "rank": 100,
    "collar_number": 50,
    "station": 200,
}
CONTACT_LIMIT = 500
MAX_CATEGORIES = 10


class Change(StrEnum):
    """What the handler asked for besides keeping what they typed."""

    SAVE = "save"
    SUBMIT = "submit"
    ADD_SUBJECT = "add_subject"
    REMOVE_SUBJECT = "remove_subject"
    MAKE_ANONYMOUS = "make_anonymous"
    MAKE_CONTACT = "make_contact"


class SaveRefused(Exception):
    """This user may not change this report (not theirs, or no longer a draft)."""


@dataclass
class SubjectEdit:
    name: str = ""
    description: str = ""
    rank: str = ""
    collar_number: str = ""
    role: str = SubjectRole.UNKNOWN
    force: str = "unknown"
    station: str = ""


@dataclass
class DraftEdit:
    """Everything the form holds, as typed."""

    categories: list[str] = field(default_factory=list)
    what: str = ""
    when_text: str = ""
    when_approximate: bool = False
    where: str = ""
    how_known: str | None = None
    risk_now: bool | None = None
    risk_who: str = ""
    evidence: str = ""
    subjects: list[SubjectEdit] = field(default_factory=list)
    contact: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Saved:
    submitted: bool
    # When a submission was refused: form field name -> what to do (the draft is saved).
    problems: dict[str, str]
    changed: list[str]
    contact: dict[str, str]  # the contact details as typed, to show the form again


def may_edit(report: Report, user: User) -> bool:
    """Only its author changes a report, and only while it is a draft or returned."""
    return report.status in EDITABLE and report.created_by_id == user.id


def save_draft(
    session: Session,
    report: Report,
    user: User,
    edit: DraftEdit,
    change: Change,
    cipher: ContactCipher,
    forces: ForceCatalogue,
    categories: dict[str, Category],
    subject_index: int | None = None,
    now: datetime | None = None,
) -> Saved:
    """Keep what was typed, make the change asked for, audit, commit.

    SUBMIT submits when nothing stops it; otherwise the draft is kept and the
    problems come back. REMOVE_SUBJECT removes the subject at `subject_index`.
    """
    if not may_edit(report, user):
        raise SaveRefused(f"Report {report.reference} is not a draft of yours.")
    now = now or utcnow()
    before = _snapshot(report, cipher)
    _apply(report, edit)
    contact = {key: (edit.contact.get(key) or "")[:CONTACT_LIMIT] for key in CONTACT_FIELDS}
    if change == Change.ADD_SUBJECT and len(report.subjects) < MAX_SUBJECTS:
        report.subjects.append(ReportSubject(position=len(report.subjects)))
    elif change == Change.REMOVE_SUBJECT and subject_index is not None:
        if 0 <= subject_index < len(report.subjects):
            del report.subjects[subject_index]
            for position, subject in enumerate(report.subjects):
                subject.position = position
    elif change == Change.MAKE_ANONYMOUS:
        report.anonymous = True
    elif change == Change.MAKE_CONTACT:
        report.anonymous = False
    set_contact(report, cipher, contact)
    changed = [key for key, value in _snapshot(report, cipher).items() if before[key] != value]
    if before.get("contact") and not report.contact_enc:
        audit(session, user, "erase", "report", report.reference, detail={"erased": "contact"})

    if change == Change.SUBMIT:
        problems = submission_problems(report, contact, forces, categories)
        if problems:
            detail = {"changed": changed, "submit_refused": sorted(problems)}
            audit(session, user, "update", "report", report.reference, detail=detail)
            session.commit()
            return Saved(False, problems, changed, contact)
        set_contact(report, cipher, normalised_contact(contact))
        report.status = ReportStatus.SUBMITTED
        report.submitted_at = now
        audit(session, user, "submit", "report", report.reference, detail={"changed": changed})
        session.commit()
        return Saved(True, {}, changed, contact)

    if changed:
        audit(session, user, "update", "report", report.reference, detail={"changed": changed})
    session.commit()
    return Saved(False, {}, changed, contact)


def _apply(report: Report, edit: DraftEdit) -> None:
    """Write everything typed into the record, as typed, clipped to the column sizes."""
    report.categories = [c for c in edit.categories if isinstance(c, str)][:MAX_CATEGORIES]
    for name, limit in TEXT_LIMITS.items():
        setattr(report, name, (getattr(edit, name) or "")[:limit])
    report.when_approximate = bool(edit.when_approximate)
    known = edit.how_known
    report.how_known = HowKnown(known) if known in tuple(HowKnown) else None
    report.risk_now = edit.risk_now
    subjects = []
    for position, typed in enumerate(edit.subjects[:MAX_SUBJECTS]):
        subject = ReportSubject(position=position)
        for name, limit in SUBJECT_LIMITS.items():
            setattr(subject, name, (getattr(typed, name) or "").strip()[:limit])
        role = typed.role
        subject.role = SubjectRole(role) if role in tuple(SubjectRole) else SubjectRole.UNKNOWN
        subject.force = (typed.force or "unknown")[:64]
        subjects.append(subject)
    report.subjects = subjects


def _snapshot(report: Report, cipher: ContactCipher) -> dict[str, Any]:
    """The report's content, to name the fields a change touched (never their values)."""
    return {
        "categories": list(report.categories or []),
        "what": report.what,
        "when": (report.when_text, report.when_approximate),
        "where": report.where,
        "how_known": report.how_known,
        "risk": (report.risk_now, report.risk_who),
        "evidence": report.evidence,
        "anonymous": report.anonymous,
        "subjects": [
            (s.name, s.description, s.rank, s.collar_number, s.role, s.force, s.station)
            for s in report.subjects
        ],
        "contact": get_contact(report, cipher),
    }
