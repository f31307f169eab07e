"""The keys a caller presses to reach a step of the call flow with given answers.

Tests, bench scripts and the fault simulator walk the helpline's flow by keys. They
ask this module for the keys of the answers they want ("the Met, an officer, bribery,
nobody at risk, anonymous") instead of writing "1", "1", "2", "1" by hand, so a menu
added, moved or renumbered in call_flows/ changes no test: the keys are read from the
flow's own file. It reads the TOML itself (the simulator speaks to the app only over
HTTP or WSGI, so it does not import the voice side).

    keys_to_queue()                                  # the defaults below, from the main number
    keys_to_queue(Answers(force="kent", urgent=True))
    keys_to_queue(Answers(language="cy"), start="welcome")   # the Welsh-first number
    keys_until("risk", Answers(force="unknown"))     # to the risk question, not pressed
    list_ends()                                      # each region's last force
    last_answers(Answers(force="civil-nuclear"))     # volunteer, other, No: each list's end
    heard_until(["Is it bribery, 1; personal gain, 2;"], "1")   # ["Is it bribery, 1;"]

The last three serve bench/speech.py, which measures what a caller hears: a caller who
presses as soon as they hear their option hears each menu only up to it (Twilio stops a
<Gather>'s <Say> at the first key), so the worst case is the last option of each list.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

HELPLINE = Path(__file__).resolve().parents[2] / "call_flows" / "helpline"
NOT_SURE = "unknown"  # the value of every menu's "not sure" option


class WalkError(Exception):
    """The flow has no way to the wanted answer: one line saying which step and why."""


@dataclass(frozen=True)
class Answers:
    """What a simulated caller answers. A force by its id in config/forces.toml (chosen
    on the keypad: region, then force), "unknown" for not sure; the same for role and
    category. `anonymous=False` leaves a number: `contact` typed on the keypad, or, when
    empty, the number the caller rings from."""

    language: str = "en"
    role: str = "officer"
    force: str = "metropolitan"
    category: str = "bribery"
    urgent: bool | str = False  # True, False or "unknown"
    anonymous: bool = True
    contact: str = ""


@lru_cache(maxsize=8)
def _steps(flow_dir: Path) -> tuple[dict[str, Any], str]:
    with (flow_dir / "flow.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return data["steps"], data["start"]


def keys_to_queue(
    answers: Answers = Answers(), start: str | None = None, flow_dir: Path = HELPLINE
) -> tuple[str, ...]:
    """Every key (or typed number, ending in #) from the first menu to the queue."""
    return keys_until("", answers, start, flow_dir)


def keys_until(
    step_id: str,
    answers: Answers = Answers(),
    start: str | None = None,
    flow_dir: Path = HELPLINE,
) -> tuple[str, ...]:
    """The keys that bring a caller to `step_id` (its question asked, not answered);
    to the queue when `step_id` is empty. `start` is the step a number starts at."""
    steps, first = _steps(flow_dir)
    wanted = {
        "role": answers.role,
        "force": answers.force,
        "category": answers.category,
        "urgent": answers.urgent,
        "anonymous": answers.anonymous,
    }
    keys: list[str] = []
    at = start or first
    for _ in range(100):
        step = steps[at]
        kind = step["kind"]
        if at == step_id or (not step_id and kind == "queue"):
            return tuple(keys)
        if kind == "queue":
            raise WalkError(f"reached the queue before step {step_id!r}")
        if kind == "message":
            at = step["next"]
        elif kind == "confirm":
            keys.append("1")
            at = step["yes"]
        elif kind == "digits":
            keys.append(answers.contact + "#")
            at = step.get("confirm") or step["next"]
        elif any(o.get("language") for o in step["options"]):
            option = _find(at, step, lambda o: o.get("language") == answers.language)
            keys.append(str(option["key"]))
            at = option["next"]
        elif any(o.get("take") for o in step["options"]):
            # How to leave a number: this phone's, or one typed on the keypad.
            option = _find(at, step, lambda o: bool(o.get("take")) != bool(answers.contact))
            keys.append(str(option["key"]))
            at = option.get("confirm") or option["next"]
        else:
            value = wanted.get(step.get("answer", ""), NOT_SURE)
            path = _path_to_value(steps, at, value)
            if path is None:
                raise WalkError(f"step {at}: no option leads to {step.get('answer')} = {value!r}")
            for key, then in path[:-1]:  # through a list of regions, say
                keys.append(key)
                if then == step_id:
                    return tuple(keys)
            keys.append(path[-1][0])
            at = path[-1][1]
    raise WalkError("the walk does not end: a loop in the flow")


def _find(step_id: str, step: dict[str, Any], fits: Any) -> dict[str, Any]:
    for option in step["options"]:
        if fits(option):
            return dict(option)
    raise WalkError(f"step {step_id}: no option fits")


def _path_to_value(steps: dict[str, Any], step_id: str, value: Any) -> list[tuple[str, str]] | None:
    """(key, next step) pairs through menus of the same question (a force menu's
    list of regions, then the region's forces) to the option with `value`."""
    step = steps[step_id]
    for option in step["options"]:
        if "value" in option and option["value"] == value:
            return [(str(option["key"]), option["next"])]
    for option in step["options"]:
        then = steps.get(option.get("next", ""), {})
        if "value" not in option and then.get("answer") == step.get("answer"):
            rest = _path_to_value(steps, option["next"], value)
            if rest is not None:
                return [(str(option["key"]), option["next"]), *rest]
    return None


def list_ends(answer: str = "force", flow_dir: Path = HELPLINE) -> dict[str, Any]:
    """The last value spoken in each menu that lists `answer`'s values, by step id, in the
    flow's order: for the force, each region's last force. Menus that only lead to others
    (the list of regions) or whose one value is "not sure" (unspoken) are not lists."""
    steps, _ = _steps(flow_dir)
    ends: dict[str, Any] = {}
    for step_id, step in steps.items():
        if step.get("kind") != "menu" or step.get("answer") != answer:
            continue
        spoken = [o for o in step["options"] if "value" in o and o.get("spoken", True)]
        if spoken:
            ends[step_id] = spoken[-1]["value"]
    return ends


# The answers whose menus are plain lists on every path; the force is each path's own,
# and leaving a number (anonymity's last option) is a longer path of its own.
LISTED = ("role", "category", "urgent")


def last_answers(answers: Answers = Answers(), flow_dir: Path = HELPLINE) -> Answers:
    """`answers` with the role, category and risk each its menu's last spoken option (a
    volunteer, other, No): the answers that keep a caller who presses at their option
    listening longest."""
    ends = {name: list(list_ends(name, flow_dir).values()) for name in LISTED}
    return replace(answers, **{name: found[-1] for name, found in ends.items() if found})


def heard_until(texts: Sequence[str], key: str) -> list[str]:
    """What a caller who presses `key` as soon as they hear it hears of a menu's prompts
    (Twilio stops a <Gather>'s <Say> at the first key): the texts up to the first that
    names the key, that one cut just after it ("…, Midlands, 4;"). A key the menu does
    not name (9, "not sure", said once in the welcome) is pressed at the end: every text."""
    named = re.compile(rf"(?<!\w){re.escape(key)}(?!\w)[,;.:?]?")
    for index, text in enumerate(texts):
        found = named.search(text)
        if found:
            return [*texts[:index], text[: found.end()]]
    return list(texts)
