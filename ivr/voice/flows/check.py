"""`ivr flows check`: find what would go wrong in a call flow before a caller does.

Each problem is one line: a step that cannot be reached, an option that leads
nowhere, a loop with no way out to a queue, two options on one key, more than
nine options, a prompt missing in one of the line's languages (or using other
placeholders), a prompt over the length limit, a shortest keypad path to the
queue over the time limit, a force in a force menu that is not in
config/forces.toml, or a force there that no menu reaches.
"""

from __future__ import annotations

import heapq
import string
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ivr.core.forces import ForceCatalogue
from ivr.core.spoken import pause_seconds, seconds_of_speech, spoken_words
from ivr.voice.flows.catalogue import Flow, FlowError, Option, Step, load_flow

DEFAULT_PROMPT_WORDS = 80
DEFAULT_PATH_SECONDS = 90
KEYPAD = set("0123456789")  # "*" repeats the menu, so it is never an option
# Placeholders the renderer fills in prompts.
PLACEHOLDERS = {"label", "key", "value", "online", "position", "day", "time", "minutes"}
# Prompts the renderer speaks by itself, whatever the flow.
ENGINE_PROMPTS = ("option", "notice.invalid", "notice.silence", "notice.gave_up",
                  "notice.error", "notice.lost_step", "notice.hold", "queue.hold")  # fmt: skip
# Digit steps that take a follow-up reference and code (ivr/voice/flows/moves.py), and
# the prompts their moves speak.
FOLLOWUP_TYPES = ("reference", "followup_code")
FOLLOWUP_PROMPTS = {
    "reference": ("notice.invalid_reference",),
    "followup_code": ("followup.found", "followup.question_waits", "followup.not_found"),
}
# Stand-ins for placeholders when counting words: each is about one spoken word.
SAMPLE_VALUES = {"label": "label", "key": "1", "value": "value", "online": "online",
                 "position": "1", "day": "today", "time": "8:00", "minutes": "5"}  # fmt: skip


def edges(step: Step) -> Iterator[tuple[str, str]]:
    """Every way out of a step: (what leads there, the step it leads to)."""
    if step.kind == "message":
        yield "next", step.next
    elif step.kind == "menu":
        for option in step.options:
            if option.take:
                yield f"option {option.key}", option.confirm or step.confirm or ""
                yield f"option {option.key} (unavailable)", option.unavailable or step.fail_next
            else:
                yield f"option {option.key}", option.next
        if step.speech:
            yield "speech", step.confirm or step.fail_next
        if step.silence_next:
            yield "silence_next", step.silence_next
        yield "fail_next", step.fail_next
    elif step.kind == "confirm":
        yield "yes", step.yes
        yield "no", step.no
        yield "fail_next", step.fail_next
    elif step.kind == "digits" and step.value_type in FOLLOWUP_TYPES:
        yield "next", step.next
        if step.no:
            yield "no", step.no
        yield "fail_next", step.fail_next
    elif step.kind == "digits":
        yield "confirm", step.confirm or step.fail_next
        yield "fail_next", step.fail_next


def entry_steps(flow: Flow) -> list[str]:
    return [flow.start, *(entry.start for entry in flow.entries.values())]


def reachable(flow: Flow) -> set[str]:
    seen: set[str] = set()
    todo = deque(s for s in entry_steps(flow) if s in flow.steps)
    while todo:
        step_id = todo.popleft()
        if step_id in seen:
            continue
        seen.add(step_id)
        todo.extend(t for _, t in edges(flow.steps[step_id]) if t in flow.steps)
    return seen


def check_flows(flows_dir: Path, forces: ForceCatalogue) -> list[str]:
    """Every problem of every flow under `flows_dir`, one line each."""
    folders = sorted(sub for sub in flows_dir.iterdir() if (sub / "flow.toml").is_file())
    if not folders:
        return [f"{flows_dir}: no call flow found (no */flow.toml)"]
    problems: list[str] = []
    for folder in folders:
        try:
            flow = load_flow(folder)
        except FlowError as exc:
            problems.append(str(exc))
            continue
        problems += [f"{folder.name}: {problem}" for problem in check_flow(flow, forces)]
    return problems


def check_flow(flow: Flow, forces: ForceCatalogue) -> list[str]:
    return [
        *_check_links(flow),
        *_check_menus(flow),
        *_check_prompts(flow),
        *_check_forces(flow, forces),
        *_check_path_times(flow),
    ]


# ------------------------------------------------------------------- shape
def _check_links(flow: Flow) -> Iterator[str]:
    for step in flow.steps.values():
        for what, target in edges(step):
            if not target:
                yield f"step {step.id}: {what} leads nowhere"
            elif target not in flow.steps:
                yield f"step {step.id}: {what} leads to {target!r}, which is not a step"
    reached = reachable(flow)
    for step_id in flow.steps:
        if step_id not in reached:
            yield f"step {step_id} cannot be reached"
    yield from _check_loops(flow, reached)


def _check_loops(flow: Flow, reached: set[str]) -> Iterator[str]:
    """A cycle from which no queue can be reached traps the caller for ever."""
    leads_to_queue = {s.id for s in flow.steps.values() if s.kind == "queue"}
    changed = True
    while changed:
        changed = False
        for step in flow.steps.values():
            if step.id not in leads_to_queue and any(t in leads_to_queue for _, t in edges(step)):
                leads_to_queue.add(step.id)
                changed = True
    trapped = {s for s in reached if s not in leads_to_queue}
    inside = {s: [t for _, t in edges(flow.steps[s]) if t in trapped] for s in trapped}
    done: set[str] = set()
    for start in sorted(trapped):
        if start in done:
            continue
        group, todo = set(), [start]
        while todo:  # the trapped steps connected to this one, either way
            step_id = todo.pop()
            if step_id in group:
                continue
            group.add(step_id)
            todo += inside[step_id] + [s for s in trapped if step_id in inside[s]]
        done |= group
        if _has_cycle(group, inside):
            names = ", ".join(sorted(group))
            yield f"steps {names} loop with no way out to a queue"


def _has_cycle(group: set[str], inside: dict[str, list[str]]) -> bool:
    state: dict[str, int] = {}

    def visit(step_id: str) -> bool:
        state[step_id] = 1
        for target in inside[step_id]:
            if state.get(target) == 1 or (target not in state and visit(target)):
                return True
        state[step_id] = 2
        return False

    return any(step_id not in state and visit(step_id) for step_id in sorted(group))


def _check_menus(flow: Flow) -> Iterator[str]:
    for step in flow.steps.values():
        if step.kind != "menu":
            continue
        if len(step.options) > 9:
            yield f"step {step.id}: {len(step.options)} options, more than nine"
        keys: set[str] = set()
        for option in step.options:
            if option.key in keys:
                yield f"step {step.id}: two options on key {option.key}"
            keys.add(option.key)
            if option.key not in KEYPAD:
                yield f"step {step.id}: option key {option.key!r} is not one keypad digit (0-9)"
            elif flow.operator and option.key == flow.operator.key:
                yield (
                    f"step {step.id}: option key {option.key} is the operator key, "
                    "kept for a person at every menu"
                )
            if option.language and option.language not in flow.languages:
                yield (
                    f"step {step.id}: option {option.key} switches to {option.language!r}, "
                    "which is not one of the line's languages"
                )


# ----------------------------------------------------------------- prompts
def used_prompts(flow: Flow) -> set[str]:
    used = set(ENGINE_PROMPTS)
    for step in flow.steps.values():
        used.update(step.say)
        if step.kind == "menu":
            used.add(step.option_say)
            for option in step.options:
                used.add(option.label)
                if option.say and option.spoken:
                    used.add(option.say)
                used.update(option.then_say)
                if option.take:
                    used.add("notice.unavailable")
            if step.speech:
                used.add("notice.not_understood")
        elif step.kind == "confirm":
            used.add("confirm.options")
        elif step.kind == "digits" and step.value_type in FOLLOWUP_TYPES:
            used.update(FOLLOWUP_PROMPTS[step.value_type])
        elif step.kind == "digits":
            used.add("notice.invalid_number")
    for name in ("say", "say_with_contact"):
        used.update(flow.wait.get(name, []))
    for name in ("offer", "leaving"):
        if flow.wait.get(name):
            used.add(flow.wait[name])
    return used


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _check_prompts(flow: Flow) -> Iterator[str]:
    required = used_prompts(flow).union(*(flow.prompts[lang] for lang in flow.languages))
    limit = int(flow.limits.get("prompt_words", DEFAULT_PROMPT_WORDS))
    first = flow.languages[0]
    for lang in flow.languages:
        prompts = flow.prompts[lang]
        for key in sorted(required - prompts.keys()):
            yield f"prompt {key} is missing in {lang} (prompts/{lang}.toml)"
        for key in sorted(prompts.keys() & required):
            text = prompts[key]
            try:
                names = _fields(text)
            except ValueError as exc:
                yield f"prompt {key} in {lang} is not a valid template ({exc})"
                continue
            unknown = names - PLACEHOLDERS
            if unknown:
                yield f"prompt {key} in {lang} uses {{{min(unknown)}}}, which is never filled"
                continue
            try:
                filled = text.format(**SAMPLE_VALUES)
            except (ValueError, KeyError, IndexError) as exc:
                yield f"prompt {key} in {lang} is not a valid template ({exc})"
                continue
            if lang != first and key in flow.prompts[first]:
                theirs = _fields(flow.prompts[first][key])
                if names != theirs:
                    yield (
                        f"prompt {key} in {lang} uses {sorted(names)}, "
                        f"but in {first} {sorted(theirs)}"
                    )
            words = spoken_words(filled)
            if words > limit:
                yield f"prompt {key} in {lang} is {words} words, over the limit of {limit}"


# ------------------------------------------------------------------ forces
def force_menus(flow: Flow) -> list[Step]:
    return [s for s in flow.steps.values() if s.kind == "menu" and s.answer == "force"]


def _names_a_force(step: Step, option: Option) -> bool:
    return option.value is not None and option.value not in ("unknown", step.fail_value)


def _check_forces(flow: Flow, forces: ForceCatalogue) -> Iterator[str]:
    menus = force_menus(flow)
    if not menus:
        return
    reached_steps = reachable(flow)
    in_menus: set[str] = set()
    for step in menus:
        for option in step.options:
            if not _names_a_force(step, option):
                continue
            if option.value not in forces.forces:
                yield (
                    f"step {step.id}: option {option.key} names force {option.value!r}, "
                    "which is not in config/forces.toml"
                )
            elif step.id in reached_steps:
                in_menus.add(option.value)
    for force_id in forces.forces:
        if force_id not in in_menus:
            yield f"force {force_id} in config/forces.toml is in no force menu a caller can reach"


# ------------------------------------------------------------- path times
@dataclass(frozen=True)
class KeypadPath:
    """The quickest way to the queue on the keypad, in one language."""

    language: str
    dialled: str  # the number rung (E.164)
    keys: tuple[str, ...]
    words: int
    pauses: float = 0.0  # seconds of pauses at punctuation

    @property
    def seconds(self) -> float:
        return seconds_of_speech(self.words, self.pauses)


@dataclass(frozen=True)
class Heard:
    """Words and pauses heard; added up along a path."""

    words: int = 0
    pauses: float = 0.0

    def __add__(self, other: Heard) -> Heard:
        return Heard(self.words + other.words, self.pauses + other.pauses)

    @property
    def seconds(self) -> float:
        return seconds_of_speech(self.words, self.pauses)


def _heard(text: str) -> Heard:
    return Heard(spoken_words(text), pause_seconds(text))


def _words(flow: Flow, language: str, prompt_key: str, /, **values: str) -> Heard:
    text = flow.prompts.get(language, {}).get(prompt_key)
    if text is None:
        text = flow.prompts[flow.languages[0]].get(prompt_key, "")
    try:
        return _heard(text.format(**{**SAMPLE_VALUES, **values}))
    except (ValueError, KeyError, IndexError):
        return _heard(text)


def _total(parts: Iterator[Heard] | list[Heard]) -> Heard:
    total = Heard()
    for part in parts:
        total = total + part
    return total


def _render_words(flow: Flow, step: Step, language: str) -> Heard:
    """Words a caller hears when a step is rendered (its question and options)."""
    words = _total(_words(flow, language, key) for key in step.say)
    if step.kind == "menu":
        for option in step.options:
            if not option.spoken:
                continue
            spoken_in = option.language if option.language in flow.voices else language
            label = flow.prompts.get(spoken_in, {}).get(option.label, option.label)
            say = option.say or step.option_say
            words = words + _words(flow, spoken_in, say, label=label, key=option.key)
    elif step.kind == "confirm":
        words = words + _words(flow, language, "confirm.options")
    return words


def _arrive(
    flow: Flow, step_id: str, language: str, preface: tuple[str, ...]
) -> tuple[str, Heard] | None:
    """Where a move lands (message steps pass through) and the words heard on the way."""
    words = _total(_words(flow, language, key) for key in preface)
    for _ in range(len(flow.steps)):
        step = flow.steps.get(step_id)
        if step is None:
            return None
        if step.kind != "message":
            return step_id, words + _render_words(flow, step, language)
        words = words + _total(_words(flow, language, key) for key in step.say)
        step_id = step.next
    return None


def keypad_paths(flow: Flow) -> dict[str, KeypadPath]:
    """For each language, the keypad path to a queue heard the soonest (words and pauses)."""
    starts = [(flow.numbers[0] if flow.numbers else "", flow.languages[0], flow.start)]
    starts += [(n, e.language, e.start) for n, e in flow.entries.items()]
    queue: list[tuple[float, int, Heard, str, str, str, tuple[str, ...]]] = []
    for order, (number, language, step_id) in enumerate(starts):
        landed = _arrive(flow, step_id, language, ())
        if landed:
            heard = landed[1]
            heapq.heappush(queue, (heard.seconds, order, heard, landed[0], language, number, ()))
    best: dict[str, KeypadPath] = {}
    settled: set[tuple[str, str, str]] = set()
    counter = len(starts)
    while queue:
        _, _, heard, step_id, language, number, keys = heapq.heappop(queue)
        if (step_id, language, number) in settled:
            continue
        settled.add((step_id, language, number))
        step = flow.steps[step_id]
        if step.kind == "queue":
            if language not in best:
                best[language] = KeypadPath(language, number, keys, heard.words, heard.pauses)
            continue
        if step.kind != "menu":
            continue  # a typed number or a spoken name: never the quickest way
        for option in step.options:
            if option.take:
                continue
            new_language = option.language or language
            landed = _arrive(flow, option.next, new_language, option.then_say)
            if landed:
                counter += 1
                total = heard + landed[1]
                heapq.heappush(
                    queue,
                    (total.seconds, counter, total, landed[0], new_language, number,
                     (*keys, option.key)),
                )  # fmt: skip
    return best


def _check_path_times(flow: Flow) -> Iterator[str]:
    limit = float(flow.limits.get("path_seconds", DEFAULT_PATH_SECONDS))
    paths = keypad_paths(flow)
    for language in flow.languages:
        path = paths.get(language)
        if path is None:
            yield f"no keypad path reaches a queue in {language}"
        elif path.seconds >= limit:
            yield (
                f"the shortest keypad path to the queue in {language} is "
                f"{path.seconds:.0f} s of speech ({path.words} words and "
                f"{path.pauses:.0f} s of pauses), over {limit:.0f} s"
            )
