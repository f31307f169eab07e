"""A call flow as a graph: each step's ways out, and the steps a caller can reach.

`ivr flows check` walks it for its problems, `ivr flows draw` draws it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from ivr.voice.flows.catalogue import Flow, Step

# Digit steps that take a follow-up reference and code (ivr/voice/flows/moves.py).
FOLLOWUP_TYPES = ("reference", "followup_code")


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
