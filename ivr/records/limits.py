"""How much a report may hold, in one place: the handler's form, the supervisor's edit,
the autosave and the online report all check against these, and none cuts text.

Text over a limit is refused with a sentence naming the field and the limit, and
nothing of that save is kept; the form comes back with everything as typed.
"""

from __future__ import annotations

from ivr.records.pii import FIELD_WORDS

# The report's own text (the database's column sizes, and sane sizes for Text).
TEXT_LIMITS = {"what": 20000, "when_text": 200, "where": 5000, "risk_who": 5000, "evidence": 10000}
SUBJECT_LIMITS = {
    "name": 200,
    "description": 5000,
    "rank": 100,
    "collar_number": 50,
    "station": 200,
}
# Each contact detail (name, phones, e-mail, safe times and ways).
CONTACT_LIMIT = 500
MAX_SUBJECTS = 20
MAX_CATEGORIES = 10
# A subject's role and force are codes chosen from lists, never longer than this.
CODE_LIMIT = 64

# Fields are named as the forms label them (shared with the check for identifying details).
LABELS = FIELD_WORDS


def too_long(label: str, limit: int, length: int) -> str:
    """The one sentence for text over a limit, wherever it was typed."""
    return f"{label} can be at most {limit:,} characters; this is {length:,}. Shorten it."


def over(label: str, text: str | None, limit: int) -> str | None:
    length = len(text or "")
    return too_long(label, limit, length) if length > limit else None
