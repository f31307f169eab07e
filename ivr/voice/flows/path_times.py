"""How long a caller listens before reaching a queue: for each language, the keypad
path heard the soonest, estimated from its words and its pauses at punctuation
(ivr/core/spoken.py). `ivr flows check` holds it to the flow's limit; bench/speech.py
measures it against the voices' real audio.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from ivr.core.spoken import pause_seconds, seconds_of_speech, spoken_words
from ivr.voice.flows.catalogue import Flow, Step

# Stand-ins for placeholders when counting words: each is about one spoken word.
SAMPLE_VALUES = {"label": "label", "key": "1", "value": "value", "online": "online",
                 "position": "1", "day": "today", "time": "8:00", "minutes": "5"}  # fmt: skip


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
