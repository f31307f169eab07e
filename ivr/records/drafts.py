"""A handler's report while they write it: save a draft any time, submit it when complete.

The console turns the form into a `DraftEdit` (plain data, no Flask) and calls
`save_draft`; an online report or a script would do the same. Drafts accept
anything typed within the record's limits (ivr/records/limits.py): text over a
limit is refused with the field and the limit named, never cut, and nothing of
that save is kept. The rules for submitting are `record.submission_problems`.
Each save checks the version it started from (ivr/records/versions.py). Every
change is audited by the names of the fields it touched, never their values.
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
from ivr.records import versions
from ivr.records.limits import (
    CODE_LIMIT,
    CONTACT_LIMIT,
    LABELS,
    MAX_CATEGORIES,
    MAX_SUBJECTS,
    SUBJECT_LIMITS,
    TEXT_LIMITS,
    over,
)
from ivr.records.record import (
    CONTACT_FIELDS,
    get_contact,
    normalised_contact,
    set_contact,
    submission_problems,
)

EDITABLE = (ReportStatus.DRAFT, ReportStatus.RETURNED)
CONTACT_LABELS = {
    "name": "The caller's name",
    "phone": "Phone",
    "phone_other": "Other phone",
    "email": "E-mail",
    "safe_times": "Safe times to contact",
    "safe_ways": "Safe ways to contact",
}


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
    version: int = 0  # the report's version now, for the form's next save
    # Over a limit: nothing was saved (the problems say which field and the limit).
    kept: bool = True


def limit_problems(edit: DraftEdit) -> dict[str, str]:
    """Form field name -> a sentence naming the field and its limit, for all typed
    over a limit (ivr/records/limits.py). Empty when everything fits."""
    found: dict[str, str | None] = {
        name: over(LABELS[name], getattr(edit, name), limit) for name, limit in TEXT_LIMITS.items()
    }
    if len(edit.subjects) > MAX_SUBJECTS:
        found["subjects"] = (
            f"A report can be about at most {MAX_SUBJECTS} people; this form has "
            f"{len(edit.subjects)}. Remove some."
        )
    if len(edit.categories) > MAX_CATEGORIES:
        found["categories"] = f"Choose at most {MAX_CATEGORIES} categories."
    for index, subject in enumerate(edit.subjects):
        person = f"Person {index + 1}'s "
        for name, limit in SUBJECT_LIMITS.items():
            found[f"subjects-{index}-{name}"] = over(
                person + LABELS[name], getattr(subject, name), limit
            )
        for name in ("role", "force"):
            found[f"subjects-{index}-{name}"] = over(
                person + name, getattr(subject, name), CODE_LIMIT
            )
    for key in CONTACT_FIELDS:
        found[f"contact_{key}"] = over(CONTACT_LABELS[key], edit.contact.get(key), CONTACT_LIMIT)
    return {name: message for name, message in found.items() if message}


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
    started_from: int | None = None,
) -> Saved:
    """Keep what was typed, make the change asked for, audit, commit.

    SUBMIT submits when nothing stops it; otherwise the draft is kept and the
    problems come back. REMOVE_SUBJECT removes the subject at `subject_index`.
    Text over a limit saves nothing (`kept` False, the problems name each field).
    `started_from` is the version the form was drawn from (by default the version
    of `report` as the caller loaded it): if the report has moved on and this save
    would change it, versions.Conflict is raised and nothing is saved.
    """
    if not may_edit(report, user):
        raise SaveRefused(f"Report {report.reference} is not a draft of yours.")
    contact = {key: edit.contact.get(key) or "" for key in CONTACT_FIELDS}
    too_long = limit_problems(edit)
    if too_long:
        return Saved(False, too_long, [], contact, report.version, kept=False)
    now = now or utcnow()
    started = report.version if started_from is None else started_from
    # Nothing is written before the version is claimed: a save that lost the race
    # must not have flushed a row the winner changed.
    with session.no_autoflush:
        before = _snapshot(report, cipher)
        _apply(report, edit)
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
    if not changed and change != Change.SUBMIT:
        # Nothing differs from what is stored: nothing to lose, nothing to write.
        session.rollback()
        return Saved(False, {}, [], contact, report.version)
    version = versions.claim(session, report, started)
    if before.get("contact") and not report.contact_enc:
        audit(session, user, "erase", "report", report.reference, detail={"erased": "contact"})

    if change == Change.SUBMIT:
        problems = submission_problems(report, contact, forces, categories)
        if problems:
            detail = {"changed": changed, "submit_refused": sorted(problems), "version": version}
            audit(session, user, "update", "report", report.reference, detail=detail)
            session.commit()
            return Saved(False, problems, changed, contact, version)
        set_contact(report, cipher, normalised_contact(contact))
        report.status = ReportStatus.SUBMITTED
        report.submitted_at = now
        detail = {"changed": changed, "version": version}
        audit(session, user, "submit", "report", report.reference, detail=detail)
        session.commit()
        return Saved(True, {}, changed, contact, version)

    detail = {"changed": changed, "version": version}
    audit(session, user, "update", "report", report.reference, detail=detail)
    session.commit()
    return Saved(False, {}, changed, contact, version)


def _apply(report: Report, edit: DraftEdit) -> None:
    """Write everything typed into the record, as typed (limit_problems has checked it fits)."""
    report.categories = [c for c in edit.categories if isinstance(c, str)]
    for name in TEXT_LIMITS:
        setattr(report, name, getattr(edit, name) or "")
    report.when_approximate = bool(edit.when_approximate)
    known = edit.how_known
    report.how_known = HowKnown(known) if known in tuple(HowKnown) else None
    report.risk_now = edit.risk_now
    subjects = []
    for position, typed in enumerate(edit.subjects):
        subject = ReportSubject(position=position)
        for name in SUBJECT_LIMITS:
            setattr(subject, name, (getattr(typed, name) or "").strip())
        role = typed.role
        subject.role = SubjectRole(role) if role in tuple(SubjectRole) else SubjectRole.UNKNOWN
        subject.force = typed.force or "unknown"
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
