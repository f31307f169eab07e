"""What in a report's free text could identify an anonymous caller.

A handler sanitises what a caller said; this is the supervisor's second look
before anything leaves. It finds phone numbers (phonenumbers' matcher, UK
numbering), e-mail addresses, UK postcodes, and first-person words ("I", "my")
beside the word that makes them first-hand ("my husband", "told me"), each
with its field and character span for highlighting.

Approval of an anonymous report is refused while a phone number or an e-mail
address remains anywhere in its text, the subjects' fields included: those
lead straight to a person. Postcodes and first-person words are highlighted
for the supervisor to judge (the police station's postcode is fine).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from ivr.models import Report

# The report's and each subject's free-text fields, in the order a supervisor reads them.
REPORT_FIELDS = ("what", "when_text", "where", "risk_who", "evidence")
SUBJECT_FIELDS = ("name", "description", "rank", "collar_number", "station")

# Kinds that block approval of an anonymous report.
BLOCKING = ("phone", "email")

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Royal Mail's postcode shape (outward code, optional space, inward code).
POSTCODE = re.compile(
    r"\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})\b", re.IGNORECASE
)
FIRST_PERSON = re.compile(r"\b(?:I|me|my|mine|myself)\b", re.IGNORECASE)
WORD = re.compile(r"[A-Za-z']+")
# Fewer digits than this is a date, a time, a collar number; not a phone number.
MIN_PHONE_DIGITS = 9


@dataclass(frozen=True)
class Finding:
    """One thing to look at: `field` is "what" or "subjects[0].name"; [start, end) in it."""

    kind: str  # phone | email | postcode | first_person
    field: str
    start: int
    end: int
    text: str

    @property
    def blocks_anonymous_approval(self) -> bool:
        return self.kind in BLOCKING


def find_in_text(text: str, field: str = "") -> list[Finding]:
    """Everything identifying in one piece of text, in order of position."""
    findings: list[Finding] = []
    emails = [(m.start(), m.end()) for m in EMAIL.finditer(text)]
    for start, end in emails:
        findings.append(Finding("email", field, start, end, text[start:end]))
    # POSSIBLE, not VALID: a made-up or mistyped number still leads to someone.
    for match in phonenumbers.PhoneNumberMatcher(
        text, "GB", leniency=phonenumbers.Leniency.POSSIBLE
    ):
        if sum(ch.isdigit() for ch in match.raw_string) < MIN_PHONE_DIGITS:
            continue
        if _inside(match.start, match.end, emails):
            continue
        findings.append(Finding("phone", field, match.start, match.end, match.raw_string))
    for m in POSTCODE.finditer(text):
        if not _inside(m.start(), m.end(), emails):
            findings.append(Finding("postcode", field, m.start(), m.end(), m.group()))
    findings.extend(_first_person(text, field))
    return sorted(findings, key=lambda f: (f.start, f.end))


def find_in_report(report: Report) -> list[Finding]:
    """Findings in every free-text field of the report and of each subject."""
    findings: list[Finding] = []
    for name in REPORT_FIELDS:
        findings.extend(find_in_text(getattr(report, name) or "", name))
    for index, subject in enumerate(report.subjects):
        for name in SUBJECT_FIELDS:
            field = f"subjects[{index}].{name}"
            findings.extend(find_in_text(getattr(subject, name) or "", field))
    return findings


def approval_refusal(report: Report) -> str | None:
    """Why this report may not be approved as it stands, or None when it may.

    Only anonymous reports are held back: a caller who left contact details
    chose to be known to the force.
    """
    if not report.anonymous:
        return None
    blocking = [f for f in find_in_report(report) if f.blocks_anonymous_approval]
    if not blocking:
        return None
    where = "; ".join(
        sorted({f"{_KIND_NAMES[f.kind]} in {field_words(f.field)}" for f in blocking})
    )
    return (
        "This anonymous report still contains what could identify the caller "
        f"({where}): remove it before approving."
    )


_KIND_NAMES = {"phone": "a phone number", "email": "an e-mail address"}
FIELD_WORDS = {
    "what": "What happened",
    "when_text": "When",
    "where": "Where",
    "risk_who": "Who is at risk",
    "evidence": "Evidence",
    "name": "name",
    "description": "description",
    "rank": "rank",
    "collar_number": "collar number",
    "station": "station or unit",
}


def field_words(field: str) -> str:
    """A finding's field as the form labels it: "what" -> "What happened",
    "subjects[1].name" -> "Person 2's name"."""
    if field.startswith("subjects["):
        index, _, name = field.removeprefix("subjects[").partition("].")
        if index.isdigit():
            return f"Person {int(index) + 1}'s {FIELD_WORDS.get(name, name)}"
    return FIELD_WORDS.get(field, field)


def _inside(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _first_person(text: str, field: str) -> list[Finding]:
    """Each first-person word with its neighbour: the word after it ("my husband",
    "I saw"), or for an object pronoun the word before it ("told me")."""
    words = [(m.start(), m.end()) for m in WORD.finditer(text)]
    findings: list[Finding] = []
    for m in FIRST_PERSON.finditer(text):
        index = next((i for i, (s, _) in enumerate(words) if s == m.start()), None)
        if index is None:  # not the start of a word, e.g. the "I" of "O'I"
            continue
        start, end = m.start(), m.end()
        pronoun = m.group().lower()
        if pronoun in ("me", "myself", "mine") and index > 0:
            start = words[index - 1][0]
        elif index + 1 < len(words):
            end = words[index + 1][1]
        findings.append(Finding("first_person", field, start, end, text[start:end]))
    return findings
