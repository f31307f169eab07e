"""Plain words for what the records store as codes.

People read labels: a status is "Waiting for review", not "submitted"; a language
is "Welsh", not "cy"; a step is "Which force", not "force_wales"; an audit entry's
detail is "Fields changed: What happened, Where", not a Python list. Every
template reads codes through these (registered as template globals), so a new
code shows as itself, never as an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint

from ivr.core.categories import load_categories
from ivr.core.runtime import get_core
from ivr.voice.runtime import get_voice

REPORT_STATUSES = {
    "draft": "Draft",
    "submitted": "Waiting for review",
    "returned": "Returned to the handler",
    "approved": "Approved, being sent",
    "disseminated": "Sent to the force",
    "closed": "Closed",
}
CALL_STATUSES = {
    "in_flow": "In the call flow",
    "queued": "Waiting in the queue",
    "answered": "With a handler",
    "ended": "Ended",
}
CALL_OUTCOMES = {
    "abandoned": "Hung up in the call flow",
    "left_queue": "Hung up while waiting",
    "left_for_online": "Left the queue to report online",
    "answered": "Answered by a handler",
    "failed": "Failed",
    "closed": "Rang while the line was closed",
    "no_handler": "Nobody free to answer",
}
DELIVERY_STATES = {
    "pending": "Waiting to be sent",
    "failing": "Failing, still trying",
    "alert": "Failing for over a day",
    "delivered": "Delivered",
    "redirected": "Sent elsewhere instead",
}
FORCE_OUTCOMES = {
    "investigation": "Investigation opened",
    "passed_to_other_force": "Passed to another force",
    "no_further_action": "No further action",
    "safeguarding": "Safeguarding action",
    "recorded": "Recorded for future investigations",
    "not_known": "Not yet known",
    "not_reported": "Not yet known",
}
LANGUAGES = {"en": "English", "cy": "Welsh"}
ROLES = {
    "officer": "Officer or special constable",
    "staff": "Staff or PCSO",
    "volunteer": "Volunteer",
    "unknown": "Not known",
}
USER_ROLES = {"handler": "Handler", "supervisor": "Supervisor", "admin": "Administrator"}
# Steps as a caller knows them: by the question they were asked.
STEPS = {
    "language": "Choosing English or Welsh",
    "welcome": "Welcome message",
    "force": "Which force",
    "force_region": "Which force: list of regions",
    "force_confirm": "Which force: name read back",
    "role": "Their role",
    "category": "What it is about",
    "risk": "Anyone at risk now",
    "anonymity": "Stay anonymous?",
    "contact_how": "Leaving a number: which",
    "contact_number": "Typing a contact number",
    "contact_confirm": "Contact number read back",
    "calling_confirm": "Calling number read back",
    "followup_reference": "Typing a report's reference",
    "followup_code": "Typing the follow-up code",
    "queue": "Waiting for a handler",
}
# What happened at a step (CallEvent.outcome), and the timeline's own moments.
EVENTS = {
    "started": "Call started",
    "chose": "Chose",
    "heard": "Said",
    "confirmed": "Confirmed",
    "invalid": "Pressed a wrong key",
    "silence": "Said nothing",
    "repeat": "Asked to hear it again",
    "gave_up": "Moved on after three tries",
    "operator": "Asked for a person (0)",
    "rejected": "Said it was not right",
    "entered": "Typed a number",
    "not_understood": "Not understood",
    "unavailable": "Number withheld",
    "found": "Report found",
    "not_found": "Reference or code not found",
    "queued": "Joined the queue",
    "answered": "Answered by a handler",
    "ended": "Call ended",
    **CALL_OUTCOMES,
}
ACTIONS = {
    "view": "Viewed",
    "create": "Created",
    "update": "Changed",
    "submit": "Submitted for review",
    "approve": "Approved",
    "return": "Returned to the handler",
    "redirect": "Sent to another force",
    "disclose": "Sent to a force",
    "disseminated": "Delivery acknowledged",
    "erase": "Erased",
    "export": "Exported",
    "take": "Took a caller",
    "reassign": "Reassigned",
    "sanitise": "Removed identifying details",
    "sign_in": "Signed in",
    "sign_out": "Signed out",
    "lock": "Account locked",
    "disable": "Account disabled",
    "enable": "Account enabled",
    "test_call": "Made a test call",
    "force_outcome": "Recorded what the force did",
    "close": "Closed",
    "restore": "Undone",
}
RECORD_TYPES = {
    "report": "Report",
    "call": "Call",
    "user": "User",
    "dissemination": "Delivery",
    "figures": "Figures",
}
FIELDS = {
    "what": "What happened",
    "when": "When",
    "when_text": "When",
    "where": "Where",
    "how_known": "How the caller knows",
    "risk": "Risk",
    "risk_who": "Who is at risk",
    "evidence": "Evidence",
    "categories": "Categories",
    "subjects": "People it is about",
    "anonymous": "Anonymity",
    "contact": "Contact details",
    "phone": "Phone",
    "password": "Password",
    "role": "Role",
    "name": "name",
    "description": "description",
    "rank": "rank",
    "collar_number": "collar number",
    "station": "station",
}
DETAIL_KEYS = {
    "changed": "Fields changed",
    "submit_refused": "Not submitted, missing",
    "erased": "Erased",
    "to": "To",
    "from": "From",
    "force": "Force",
    "destination": "Address",
    "channel": "Sent by",
    "attempts": "Attempts",
    "reference": "Reference",
    "outcome": "Outcome",
    "previous": "Before",
    "username": "Username",
    "role": "Role",
    "prefilled": "Filled in from the call",
    "call_id": "Call",
    "from_user_id": "Taken over from",
    "since": "From",
    "until": "To",
    "line": "Line",
    "locked_minutes": "Locked for (minutes)",
    "retention_days": "Kept for (days)",
    "sent_by": "Sent by",
    "dissemination": "Delivery",
    "first_already_delivered": "First force already had it",
    "version": "Version",
}


def label(table: dict[str, str], code: Any, missing: str = "—") -> str:
    if code is None or code == "":
        return missing
    return table.get(str(code), str(code).replace("_", " "))


def role_label(code: str | None) -> str:
    return label(ROLES, code, "Not known")


def yes_no(value: bool | None, missing: str = "Not said") -> str:
    return {True: "Yes", False: "No"}.get(value, missing)  # type: ignore[arg-type]


def force_name(force_id: str | None) -> str:
    if not force_id or force_id == "unknown":
        return "Not known"
    return get_core().forces.name(force_id)


def category_name(key: str | None) -> str:
    if not key or key == "unknown":
        return "Not said"
    categories = load_categories(get_core().settings.config_dir)
    return categories[key].label if key in categories else key.replace("_", " ")


def step_name(step: str | None) -> str:
    """ "force_wales" -> "Which force: Wales" (the region's words, as the caller heard them)."""
    if not step:
        return "—"
    if step in STEPS:
        return STEPS[step]
    if step.startswith("force_"):
        region = _english_prompt(f"region.{step.removeprefix('force_')}")
        if region:
            return f"Which force: {region}"
    return step.replace("_", " ").capitalize()


def caller_heard_category(key: str | None, line: str | None = None) -> str:
    """The words the caller pressed a key for ("abusing a partner"), or ""."""
    if not key or key == "unknown":
        return ""
    return _english_prompt(f"category.{key}", line)


def _english_prompt(prompt_key: str, line: str | None = None) -> str:
    flows = get_voice().flows.flows
    flow = flows.get(line or "") or next(iter(flows.values()), None)
    if flow is None:
        return ""
    return flow.prompts.get("en", {}).get(prompt_key, "")


def answer_words(step: str | None, value: str | None, line: str | None = None) -> str:
    """A step's recorded answer in words: the force's name, the category, Yes/No; a key
    that only leads on, in the words of its option ("Language: English", "Region:
    London and South East"), never the bare key or "Unknown force"."""
    if value is None or value == "":
        return ""
    chosen = _option_words(step, value, line)
    if chosen:
        return chosen
    if step and step.startswith("force"):
        return force_name(value) if value != "unknown" else "Does not know"
    if step == "category":
        return category_name(value) if value != "unknown" else "Does not know"
    if step == "role":
        return label(ROLES, value)
    if step == "language":
        return label(LANGUAGES, value)
    if step in ("risk", "anonymity"):
        return {"True": "Yes", "true": "Yes", "False": "No", "false": "No"}.get(
            value, "Does not know" if value == "unknown" else value
        )
    return value


def _option_words(step: str | None, key: str, line: str | None) -> str:
    """The words of the option a caller pressed `key` for at `step`, when that option
    records no value of its own (the event then holds the key): a language, a region."""
    flows = get_voice().flows.flows
    flow = flows.get(line or "") or next(iter(flows.values()), None)
    menu = flow.steps.get(step or "") if flow is not None else None
    option = menu.option(key) if menu is not None and menu.kind == "menu" else None
    if option is None or option.value is not None:
        return ""
    if option.language:
        return f"Language: {label(LANGUAGES, option.language)}"
    words = _english_prompt(option.label, line)
    if option.label.startswith("region."):
        return f"Region: {words}"
    return words or key


def duration(seconds: int | None) -> str:
    """ "45 s", "4 min 7 s", "1 h 2 min"."""
    if seconds is None:
        return "—"
    minutes, rest = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def line_name(line: str | None) -> str:
    flow = get_voice().flows.flows.get(line or "")
    return flow.name if flow is not None else (line or "—")


def field_names(names: Iterable[Any]) -> str:
    return ", ".join(label(FIELDS, name) for name in names)


def detail_words(detail: dict[str, Any] | None, usernames: dict[int, str] | None = None) -> str:
    """An audit entry's detail as a sentence of "Key: value" parts."""
    usernames = usernames or {}
    parts = []
    for key, value in sorted((detail or {}).items()):
        parts.append(f"{label(DETAIL_KEYS, key)}: {_value_words(key, value, usernames)}")
    return "; ".join(parts)


def _value_words(key: str, value: Any, usernames: dict[int, str]) -> str:
    if isinstance(value, bool):
        return yes_no(value)
    if value is None:
        return "none"
    if key in ("changed", "submit_refused", "prefilled", "erased") and isinstance(value, list):
        return field_names(value) or "nothing"
    if key in ("changed", "erased") and isinstance(value, str):
        return label(FIELDS, value)
    if key in ("force", "from") and isinstance(value, str):
        return force_name(value)
    if key == "to" and isinstance(value, str) and " " not in value:
        return force_name(value)
    if key == "previous" and value in REPORT_STATUSES:
        return REPORT_STATUSES[value]
    if key in ("outcome", "previous"):
        return label(FORCE_OUTCOMES, value)
    if key == "role":
        return label(USER_ROLES, value)
    if key == "from_user_id" and isinstance(value, int):
        return usernames.get(value, "a user no longer listed")
    if isinstance(value, dict):
        return ", ".join(
            _value_words(k, v, usernames) for k, v in sorted(value.items()) if k != "destination"
        ) + (f" ({value['destination']})" if "destination" in value else "")
    if isinstance(value, list):
        return "; ".join(_value_words(key, item, usernames) for item in value) or "none"
    return str(value)


def _globals() -> dict[str, Any]:
    return {
        "duration": duration,
        "line_name": line_name,
        "words": {
            "report_status": lambda code: label(REPORT_STATUSES, code),
            "call_status": lambda code: label(CALL_STATUSES, code),
            "outcome": lambda code: label(CALL_OUTCOMES, code),
            "delivery_state": lambda code: label(DELIVERY_STATES, code),
            "language": lambda code: label(LANGUAGES, code),
            "role": lambda code: label(ROLES, code, "Not known"),
            "user_role": lambda code: label(USER_ROLES, code),
            "event": lambda code: label(EVENTS, code),
            "action": lambda code: label(ACTIONS, code),
            "record_type": lambda code: label(RECORD_TYPES, code),
            "step": step_name,
            "answer": answer_words,
            "force": force_name,
            "category": category_name,
            "heard": caller_heard_category,
            "yes_no": yes_no,
            "detail": detail_words,
            "force_outcome": lambda code: label(FORCE_OUTCOMES, code, "Not yet known"),
        },
    }


def register(bp: Blueprint) -> None:
    bp.app_context_processor(_globals)
