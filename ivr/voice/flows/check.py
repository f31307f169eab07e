"""`ivr flows check`: find what would go wrong in a call flow before a caller does.

Each problem is one line: a step that cannot be reached, an option that leads
nowhere, a loop with no way out to a queue, two options on one key, more than
nine options, a prompt missing in one of the line's languages (or using other
placeholders), a prompt over the length limit, a shortest keypad path to the
queue over the time limit, a force in a force menu that is not in
config/forces.toml, or a force there that no menu reaches.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path

from ivr.core.forces import ForceCatalogue
from ivr.core.spoken import spoken_words
from ivr.voice.flows.catalogue import Flow, FlowError, Option, Step, load_flow
from ivr.voice.flows.graph import FOLLOWUP_TYPES, edges, reachable
from ivr.voice.flows.path_times import SAMPLE_VALUES, keypad_paths

DEFAULT_PROMPT_WORDS = 80
DEFAULT_PATH_SECONDS = 90
KEYPAD = set("0123456789")  # "*" repeats the menu, so it is never an option
# Placeholders the renderer fills in prompts.
PLACEHOLDERS = {"label", "key", "value", "online", "position", "day", "time", "minutes"}
# Prompts the renderer speaks by itself, whatever the flow.
ENGINE_PROMPTS = ("option", "notice.invalid", "notice.silence", "notice.gave_up",
                  "notice.error", "notice.lost_step", "notice.hold", "queue.hold")  # fmt: skip
# The prompts that the moves of follow-up digit steps speak (ivr/voice/flows/moves.py).
FOLLOWUP_PROMPTS = {
    "reference": ("notice.invalid_reference",),
    "followup_code": ("followup.found", "followup.question_waits", "followup.not_found"),
}


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
