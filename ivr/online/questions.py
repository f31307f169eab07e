"""The online report's questions, one a page, in order, as data: what the phone line
asks (risk now, force, role, category, what, when, where, who, anonymity) and how each
answer is checked. The pages (pages.py) render and walk them; the words are in words/.

An answer is kept as typed (strings; a list for checkboxes) even when it has an error,
so nothing typed is lost; `problems` says what is wrong, as keys into the words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ivr.core.contact import parse_phone
from ivr.records.limits import CONTACT_LIMIT, TEXT_LIMITS
from ivr.records.limits import SUBJECT_LIMITS as RECORD_SUBJECT_LIMITS

Answers = dict[str, Any]
EMAIL_AT = "@"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # radios | checkboxes | select | textarea | text
    label: str = ""  # words key; empty: the page's title is the field's label or legend
    choices: str = ""  # which list of choices (pages.choices_for)
    max_length: int = 2000
    input_type: str = "text"
    autocomplete: str = "off"
    spellcheck: bool = True


@dataclass(frozen=True)
class Question:
    slug: str
    fields: tuple[Field, ...]
    check: Callable[[Answers], dict[str, str]]
    shown: Callable[[Answers], bool] = field(default=lambda answers: True)

    @property
    def words(self) -> str:
        return f"q.{self.slug}"


def _required(name: str, error: str) -> Callable[[Answers], dict[str, str]]:
    def check(answers: Answers) -> dict[str, str]:
        value = answers.get(name)
        return {} if value else {name: error}

    return check


# The record's limits (ivr/records/limits.py): an online report fits a report. The
# error words say the limit ("Keep this to {limit} characters or fewer").
TOO_LONG = "site.too_long"


def _what(answers: Answers) -> dict[str, str]:
    text = str(answers.get("what", "")).strip()
    if len(text) < 10:
        return {"what": "q.what.error"}
    if len(text) > TEXT_LIMITS["what"]:
        return {"what": TOO_LONG}
    return {}


def _when(answers: Answers) -> dict[str, str]:
    text = str(answers.get("when_text", "")).strip()
    if not text:
        return {"when_text": "q.when_text.error"}
    if len(text) > TEXT_LIMITS["when_text"]:
        return {"when_text": TOO_LONG}
    return {}


def _where(answers: Answers) -> dict[str, str]:
    too_long = len(str(answers.get("where", ""))) > TEXT_LIMITS["where"]
    return {"where": TOO_LONG} if too_long else {}


# In the order the page asks them.
SUBJECT_LIMITS = {
    f"subject_{name}": RECORD_SUBJECT_LIMITS[name]
    for name in ("name", "rank", "collar_number", "station", "description")
}
CONTACT_LIMITS = {
    "contact_name": CONTACT_LIMIT,
    "contact_phone": 40,
    "contact_email": 320,
    "contact_safe_times": CONTACT_LIMIT,
}


def _subject(answers: Answers) -> dict[str, str]:
    problems = {
        name: TOO_LONG
        for name, limit in SUBJECT_LIMITS.items()
        if len(str(answers.get(name, ""))) > limit
    }
    if not any(str(answers.get(name, "")).strip() for name in SUBJECT_LIMITS):
        problems.setdefault("subject_name", "q.subject.error")
    return problems


def _risk_who(answers: Answers) -> dict[str, str]:
    text = str(answers.get("risk_who", "")).strip()
    if not text:
        return {"risk_who": "q.risk_who.error"}
    return {"risk_who": TOO_LONG} if len(text) > TEXT_LIMITS["risk_who"] else {}


def _contact(answers: Answers) -> dict[str, str]:
    phone = str(answers.get("contact_phone", "")).strip()
    email = str(answers.get("contact_email", "")).strip()
    problems: dict[str, str] = {}
    if not phone and not email:
        problems["contact_phone"] = "q.contact.error_none"
    if phone and parse_phone(phone) is None:
        problems["contact_phone"] = "q.contact.error_phone"
    if email and (EMAIL_AT not in email or "." not in email.rsplit(EMAIL_AT, 1)[-1]):
        problems["contact_email"] = "q.contact.error_email"
    for name, limit in CONTACT_LIMITS.items():
        if len(str(answers.get(name, ""))) > limit:
            problems[name] = TOO_LONG
    return problems


QUESTIONS: tuple[Question, ...] = (
    Question(
        "risk_now",
        (Field("risk_now", "radios", choices="yes_no"),),
        _required("risk_now", "q.risk_now.error"),
    ),
    Question(
        "risk_who",
        (Field("risk_who", "textarea", max_length=TEXT_LIMITS["risk_who"]),),
        _risk_who,
        shown=lambda answers: answers.get("risk_now") == "yes",
    ),
    Question(
        "force",
        (Field("force", "select", choices="forces"),),
        _required("force", "q.force.error"),
    ),
    Question(
        "role",
        (Field("role", "radios", choices="roles"),),
        _required("role", "q.role.error"),
    ),
    Question(
        "categories",
        (Field("categories", "checkboxes", choices="categories"),),
        _required("categories", "q.categories.error"),
    ),
    Question("what", (Field("what", "textarea", max_length=TEXT_LIMITS["what"]),), _what),
    Question(
        "when_text", (Field("when_text", "text", max_length=TEXT_LIMITS["when_text"]),), _when
    ),
    Question("where", (Field("where", "textarea", max_length=TEXT_LIMITS["where"]),), _where),
    Question(
        "subject",
        tuple(
            Field(
                name,
                "textarea" if name == "subject_description" else "text",
                label=f"q.subject.{name.removeprefix('subject_')}",
                max_length=limit,
            )
            for name, limit in SUBJECT_LIMITS.items()
        ),
        _subject,
    ),
    Question(
        "how_known",
        (Field("how_known", "radios", choices="how_known"),),
        _required("how_known", "q.how_known.error"),
    ),
    Question(
        "anonymous",
        (Field("anonymous", "radios", choices="anonymous"),),
        _required("anonymous", "q.anonymous.error"),
    ),
    Question(
        "contact",
        (
            Field("contact_name", "text", label="q.contact.name", max_length=CONTACT_LIMIT,
                  autocomplete="name", spellcheck=False),
            Field("contact_phone", "text", label="q.contact.phone",
                  max_length=CONTACT_LIMITS["contact_phone"],
                  input_type="tel", autocomplete="tel", spellcheck=False),
            Field("contact_email", "text", label="q.contact.email",
                  max_length=CONTACT_LIMITS["contact_email"],
                  input_type="email", autocomplete="email", spellcheck=False),
            Field("contact_safe_times", "textarea", label="q.contact.safe_times",
                  max_length=CONTACT_LIMIT),
        ),
        _contact,
        shown=lambda answers: answers.get("anonymous") == "no",
    ),
)  # fmt: skip
BY_SLUG = {question.slug: question for question in QUESTIONS}


def read_form(question: Question, form: Any, allowed: Callable[[Field], set[str]]) -> Answers:
    """The page's answers from the posted form: text as typed, choices only from the list."""
    answers: Answers = {}
    for item in question.fields:
        if item.kind == "checkboxes":
            answers[item.name] = [v for v in form.getlist(item.name) if v in allowed(item)]
        elif item.kind in ("radios", "select"):
            value = form.get(item.name, "")
            answers[item.name] = value if value in allowed(item) else ""
        else:
            # Browsers send CR LF in textareas; keep what was typed, capped well above limits.
            typed = form.get(item.name, "").replace("\r\n", "\n")
            answers[item.name] = typed[: item.max_length * 2]
    return answers


def shown(answers: Answers) -> list[Question]:
    return [question for question in QUESTIONS if question.shown(answers)]


def first_unanswered(answers: Answers) -> Question | None:
    """The first page still to answer (or with an error), or None when all are done."""
    for question in shown(answers):
        if question.check(answers):
            return question
    return None


def after(slug: str, answers: Answers) -> Question | None:
    pages = shown(answers)
    slugs = [question.slug for question in pages]
    if slug not in slugs:
        return pages[0] if pages else None
    index = slugs.index(slug)
    return pages[index + 1] if index + 1 < len(pages) else None


def before(slug: str, answers: Answers) -> Question | None:
    pages = shown(answers)
    slugs = [question.slug for question in pages]
    if slug not in slugs or slugs.index(slug) == 0:
        return None
    return pages[slugs.index(slug) - 1]
