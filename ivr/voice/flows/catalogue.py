"""Call flows as data: call_flows/<line>/flow.toml and its prompts/<language>.toml.

This module only reads and shapes the data, and answers questions about it (which flow a
call is in, which language it is spoken in); ivr/voice/flows/moves.py moves a call through
it and ivr/voice/flows/render.py speaks it. A flow that cannot be read raises FlowError
with one line naming the file and the problem.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ivr.core.contact import parse_phone
from ivr.core.opening_hours import HoursError, OpeningHours

STEP_KINDS = ("message", "menu", "confirm", "digits", "queue")


class FlowError(Exception):
    """A flow file is missing, malformed or inconsistent; one line for a human."""


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    next: str = ""
    value: Any = None
    set: dict[str, Any] = field(default_factory=dict)
    then_say: tuple[str, ...] = ()
    language: str | None = None
    # take = "calling_number": use the number the caller rings from, on this explicit choice only
    take: str | None = None
    confirm: str | None = None
    unavailable: str | None = None
    # The prompt that speaks this option, instead of the step's `option_say`.
    say: str | None = None
    # False: the key works but the menu does not speak it, because the caller was told
    # once already (the welcome names 9 for "not sure" and 8 for a follow-up), or the
    # step's question says it. Every option spoken costs each caller a second or two.
    spoken: bool = True


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    say: tuple[str, ...] = ()
    next: str = ""
    answer: str | None = None
    options: tuple[Option, ...] = ()
    speech: str | None = None
    confirm: str | None = None
    value_type: str | None = None
    yes: str = ""
    no: str = ""
    fail_value: Any = None
    fail_next: str = ""
    # The prompt that speaks each option ("{label}, {key}."); a language menu has its own.
    option_say: str = "option"
    # Silence goes here at once, without a notice (a language menu goes on in the default).
    silence_next: str = ""

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.key == key), None)


@dataclass(frozen=True)
class Voice:
    voice: str
    language: str
    # What Twilio's speech recogniser is asked to hear, when it cannot hear `language`.
    speech_language: str = ""

    @property
    def recognition(self) -> str:
        return self.speech_language or self.language


@dataclass(frozen=True)
class Entry:
    """How a call to one of the line's numbers starts: in which language, at which step."""

    language: str
    start: str


@dataclass(frozen=True)
class Operator:
    """The way to a person from any menu: a key kept for it everywhere, and words a
    caller may say where a step listens to speech. It leads to a queue step."""

    key: str = "0"
    step: str = "queue"
    words: tuple[str, ...] = ()

    def heard_in(self, speech: str) -> bool:
        said = " ".join(speech.lower().replace(".", " ").replace(",", " ").split())
        return any(f" {word} " in f" {said} " for word in self.words)


@dataclass(frozen=True)
class Flow:
    id: str
    name: str
    numbers: tuple[str, ...]
    default: bool
    languages: tuple[str, ...]
    start: str
    queue: str
    steps: dict[str, Step]
    voices: dict[str, Voice]
    prompts: dict[str, dict[str, str]]  # language -> key -> text
    wait: dict[str, Any]
    path: Path
    # number (E.164) -> how a call to it starts, when not in languages[0] at `start`
    entries: dict[str, Entry] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)
    operator: Operator | None = None
    hours: OpeningHours | None = None  # None: always open

    def entry(self, dialled: str | None) -> Entry:
        default = Entry(self.languages[0], self.start)
        return self.entries.get(_cached_e164(dialled or "") or "", default)

    def prompt(self, language: str, prompt_key: str, /, **values: Any) -> str:
        text = self.prompts.get(language, {}).get(prompt_key)
        if text is None:
            text = self.prompts[self.languages[0]].get(prompt_key, "")
        return text.format(**values) if values else text

    def spoken_language(self, language: str | None) -> str:
        """`language` if this flow speaks it, otherwise the flow's first language."""
        return language if language in self.voices else self.languages[0]

    def voice_for(self, language: str | None) -> Voice:
        """The voice that speaks `language` (or the first language, if not spoken)."""
        return self.voices[self.spoken_language(language)]

    def option_language(self, option: Option, language: str) -> str:
        """The language an option is spoken in: its own where it changes the language and
        the flow speaks it (so its own speakers hear it), else the call's."""
        return option.language if option.language in self.voices else language

    def name_in(self, language: str, kind: str, value: str | None) -> str | None:
        """A force's or category's name as the prompts say it in `language`
        ("Heddlu Gogledd Cymru" for `force.north-wales` in Welsh); None in the first
        language, or where the prompts give none: then the config's name is the one."""
        if language == self.languages[0] or value is None:
            return None
        return self.prompts.get(language, {}).get(f"{kind}.{value}") or None


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise FlowError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise FlowError(f"{path}: not valid TOML: {exc}") from None


def load_flow(folder: Path) -> Flow:
    path = folder / "flow.toml"
    data = _read(path)
    try:
        steps = {}
        for step_id, raw in data["steps"].items():
            raw = dict(raw)
            options = tuple(
                Option(
                    **{
                        **o,
                        "key": str(o["key"]),
                        "then_say": tuple(o.get("then_say", ())),
                    }
                )
                for o in raw.pop("options", [])
            )
            steps[step_id] = Step(id=step_id, options=options, say=tuple(raw.pop("say", ())), **raw)
        languages = tuple(data["languages"])
        numbers = []
        entries = {}
        for item in data.get("numbers", []):
            # "0800 …", or { number = "0800 …", language = "cy", start = "welcome" }
            number = item["number"] if isinstance(item, dict) else item
            normalised = parse_phone(number)
            if normalised is None:
                raise FlowError(f"{path}: {number!r} in numbers is not a valid phone number")
            numbers.append(normalised)
            if isinstance(item, dict):
                entries[normalised] = Entry(
                    language=item.get("language", languages[0]),
                    start=item.get("start", data["start"]),
                )
        flow = Flow(
            id=folder.name,
            name=data["name"],
            numbers=tuple(numbers),
            default=bool(data.get("default", False)),
            languages=languages,
            start=data["start"],
            queue=data["queue"],
            steps=steps,
            voices={lang: Voice(**v) for lang, v in data["voices"].items()},
            prompts={
                lang: _flatten(_read(folder / "prompts" / f"{lang}.toml")) for lang in languages
            },
            wait=dict(data.get("wait", {})),
            path=path,
            entries=entries,
            limits=dict(data.get("limits", {})),
            operator=_operator(data.get("operator")),
            hours=OpeningHours.from_table(data["hours"]) if "hours" in data else None,
        )
    except (KeyError, TypeError) as exc:
        raise FlowError(f"{path}: missing or unexpected field {exc}") from None
    except HoursError as exc:
        raise FlowError(f"{path}: {exc}") from None
    for step in flow.steps.values():
        if step.kind not in STEP_KINDS:
            raise FlowError(f"{path}: step {step.id} has unknown kind {step.kind!r}")
    if flow.start not in flow.steps:
        raise FlowError(f"{path}: start step {flow.start!r} does not exist")
    for lang in languages:
        if lang not in flow.voices:
            raise FlowError(f"{path}: language {lang!r} has no [voices.{lang}]")
    if flow.operator and flow.steps.get(flow.operator.step, Step("", "")).kind != "queue":
        raise FlowError(f"{path}: [operator] step {flow.operator.step!r} is not a queue step")
    for number, entry in entries.items():
        if entry.language not in languages:
            raise FlowError(f"{path}: number {number} starts in {entry.language!r}, not a language")
        if entry.start not in flow.steps:
            raise FlowError(f"{path}: number {number} starts at {entry.start!r}, not a step")
    return flow


def _operator(raw: dict[str, Any] | None) -> Operator | None:
    if raw is None:
        return None
    return Operator(
        key=str(raw.get("key", "0")),
        step=str(raw.get("step", "queue")),
        words=tuple(str(w).lower() for w in raw.get("words", ())),
    )


class FlowCatalogue:
    """Every flow under call_flows/, and which one a dialled number reaches."""

    def __init__(self, flows: dict[str, Flow]) -> None:
        if not flows:
            raise FlowError("no call flow found under call_flows/")
        self.flows = flows
        self._by_number = {n: f for f in flows.values() for n in f.numbers}
        defaults = [f for f in flows.values() if f.default]
        self._default = defaults[0] if defaults else next(iter(flows.values()))

    @classmethod
    def load(cls, folder: Path) -> FlowCatalogue:
        if not folder.is_dir():
            raise FlowError(
                f"setting flows_dir (IVR_FLOWS_DIR): {folder} is not a folder of call flows"
            )
        flows = {
            sub.name: load_flow(sub)
            for sub in sorted(folder.iterdir())
            if (sub / "flow.toml").is_file()
        }
        return cls(flows)

    @property
    def default(self) -> Flow:
        """The flow a number not in any flow reaches."""
        return self._default

    def for_number(self, dialled: str | None) -> Flow:
        return self._by_number.get(_cached_e164(dialled or "") or "", self._default)

    def for_line(self, line: str | None) -> Flow:
        """A call's flow, by the line it was stored with; the default flow if that
        line is no longer in call_flows/ (the call still gets an answer)."""
        return self.flows.get(line or "") or self._default


@lru_cache(maxsize=256)
def _cached_e164(number: str) -> str | None:
    return parse_phone(number) if number else None
