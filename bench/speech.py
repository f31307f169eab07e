"""How long a caller listens before reaching a person: the prompts as sound, not words.

    .venv/bin/python bench/speech.py             # every path, English and Welsh
    .venv/bin/python bench/speech.py --rate 150  # a slower voice

Each path is walked through the real webhooks (signed, TwiML parsed, redirects
followed, exactly as Twilio does: ivr/sim/twilio.py) on a temporary SQLite
file; every <Say> the caller hears before the <Enqueue> is synthesised with
Debian's espeak-ng (en-GB, or the Welsh `cy` voice) and measured with sox
(`soxi -D`), and every <Pause> is added.

Two figures per path, both printed, so neither is mistaken for the other:
  to end      the caller hears every menu to its end, then presses
  at option   the caller presses as soon as they hear their option's key: every menu
              is a <Say> inside its <Gather>, and Twilio stops the <Say> at the first
              key, so they hear each menu up to and including their option ("…,
              Midlands, 4;"). A key the menu does not speak (9, "not sure", named once
              in the welcome) is pressed at the menu's end; a spoken force name after
              the whole question. ivr/sim/walks.py `heard_until` makes the cut.
The targets apply to "at option" on its worst case: the region paths go to the LAST
force of each region's list, with the last option of the role and category menus (a
volunteer, other) and No to the risk question, so every list but the regions is heard
whole; the longest of them is the worst a caller who presses at their option hears.
Neither figure counts the caller's own reaction time.

Paths (keys pressed, per language; from ivr/sim/walks.py, read from the flow itself):
  shortest       the keypad path with the fewest words (`ivr flows check`'s path)
  the Met        1 for the list of regions, London and South East, the Met; an
                 officer, bribery, nobody at risk, anonymous (the usual answers)
  region: …      every region of the flow's force menus, to its list's last force
                 (`list_ends`), with the last answers (`last_answers`); anonymous
  speech force   the force said aloud ("Kent"), then confirmed; the usual answers
  operator       0 for a person, as the welcome names it
Each language is walked from every number that reaches it (the flow's `numbers`):
the main number with its language menu's key (2 for Cymraeg), and a number that
starts in that language at the welcome (the Welsh line, 0800 085 0001). The worst
region of each, in both modes, closes the table.
Targets (issue 15): under 60 s on the shortest path, under 75 s through region
and force, in both languages. espeak-ng at 160 words a minute speaks a little
faster than Twilio's Polly voices; the word estimate of `ivr flows check`
(150 words a minute, pauses counted) is printed beside it.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr import create_app  # noqa: E402
from ivr.core.migrate import upgrade  # noqa: E402
from ivr.sim.twilio import SimulatedCall, TwimlError, flask_transport  # noqa: E402
from ivr.sim.walks import (  # noqa: E402
    Answers,
    heard_until,
    keys_to_queue,
    keys_until,
    last_answers,
    list_ends,
)
from ivr.voice.flows.catalogue import Flow, load_flow  # noqa: E402
from ivr.voice.flows.path_times import keypad_paths  # noqa: E402

AUTH_TOKEN = "bench-speech-0123456789abcdef"
ESPEAK_VOICES = {"en-GB": "en-gb", "cy-GB": "cy"}
# Seconds of audio "at option", per path; every other path goes through a force.
TARGETS = {"shortest": 60.0, "operator": 60.0}
THROUGH_FORCE = 75.0


@dataclass(frozen=True)
class Path_:
    name: str
    language: str
    number: str  # the number rung (E.164)
    moves: tuple[tuple[str, str], ...]  # ("press", "1") or ("say", "Kent")
    worst: bool = False  # one of the region paths whose longest sets the target


def routes(flow: Flow, language: str) -> list[tuple[str, tuple[str, ...], str | None]]:
    """How a caller reaches the line in `language`: (number, keys, start step). The main
    number, with its language menu's key when it has one, and every number that starts
    in that language (the Welsh line, 0800 085 0001): all read from the flow."""
    chosen = language_keys(flow)
    found: list[tuple[str, tuple[str, ...], str | None]] = []
    if language in chosen:
        found.append((flow.numbers[0], (chosen[language],), None))
    elif not chosen and language == flow.languages[0]:
        found.append((flow.numbers[0], (), None))
    found += [(n, (), e.start) for n, e in flow.entries.items() if e.language == language]
    return found


def language_keys(flow: Flow) -> dict[str, str]:
    """The main number's first menu: the key of each language it offers (none: no menu)."""
    first = flow.steps[flow.start]
    return {o.language: o.key for o in first.options if o.language}


def pressed(keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple(("press", k) for k in keys)


def paths(flow_dir: Path) -> list[Path_]:
    flow = load_flow(flow_dir)
    quickest = keypad_paths(flow)
    out = []
    for lang in flow.languages:
        answers = Answers(language=lang)
        found = quickest[lang]
        # The quickest keys once the language is chosen (the estimate may have dialled
        # either number): the same menus follow, whichever number was rung.
        chose = found.dialled == flow.numbers[0] and bool(language_keys(flow))
        after_language = found.keys[1:] if chose else found.keys
        after_force = keys_to_queue(answers, start="category", flow_dir=flow_dir)
        for number, first, start in routes(flow, lang):
            to_force = keys_until("force", answers, start=start, flow_dir=flow_dir)
            out += [
                Path_("shortest", lang, number, pressed((*first, *after_language))),
                Path_(
                    "the Met",
                    lang,
                    number,
                    pressed(keys_to_queue(answers, start=start, flow_dir=flow_dir)),
                ),
            ]
            # Every region, to its list's last force, with the last option of every
            # other list: the longest a caller who presses at their option can listen.
            for step_id, force in list_ends("force", flow_dir).items():
                worst = last_answers(Answers(language=lang, force=force), flow_dir)
                keys = keys_to_queue(worst, start=start, flow_dir=flow_dir)
                region = step_id.removeprefix("force_").replace("_", " ")
                out.append(Path_(region, lang, number, pressed(keys), worst=True))
            out += [
                Path_(
                    "speech force",
                    lang,
                    number,
                    (
                        *pressed(to_force),
                        ("say", "Kent"),
                        ("press", "1"),  # that's right
                        *(("press", k) for k in after_force),
                    ),
                ),
                Path_("operator", lang, number, pressed((*first, "0"))),
            ]
    return out


class Speaker:
    """espeak-ng to a WAV file, sox to measure it; each distinct text once."""

    def __init__(self, folder: Path, rate: int) -> None:
        self.folder = folder
        self.rate = rate
        self.cache: dict[tuple[str, str], float] = {}

    def seconds(self, text: str, language: str) -> float:
        voice = ESPEAK_VOICES.get(language, "en-gb")
        key = (voice, text)
        if key not in self.cache:
            name = hashlib.sha256(f"{voice}|{text}".encode()).hexdigest()[:16]
            wav = self.folder / f"{name}.wav"
            subprocess.run(
                ["espeak-ng", "-v", voice, "-s", str(self.rate), "-w", str(wav), text],
                check=True,
                capture_output=True,
            )
            out = subprocess.run(["soxi", "-D", str(wav)], check=True, capture_output=True)
            self.cache[key] = float(out.stdout.decode().strip())
        return self.cache[key]


DETAIL: list[str] = []


@dataclass
class Heard:
    """What a caller hears on one path, in both modes."""

    to_end: float = 0.0  # listening to every menu to its end, then pressing
    at_option: float = 0.0  # pressing as soon as their option (its key) is named
    words: int = 0  # words heard listening to the end
    queued: bool = False


def spoken(document: ET.Element) -> list[ET.Element]:
    """The <Say>s and <Pause>s of a TwiML document, in the order Twilio plays them."""
    return [e for e in document.iter() if e.tag in ("Say", "Pause")]


def seconds_of(elements: list[ET.Element], speaker: Speaker, key: str | None) -> float:
    """Seconds of audio of a document's prompts; with `key`, only what a caller who
    presses it as soon as it is named hears before pressing (ivr/sim/walks.py)."""
    says = [e for e in elements if e.tag == "Say"]
    texts = [e.text or "" for e in says]
    heard = heard_until(texts, key) if key is not None else texts
    seconds, said = 0.0, 0
    for element in elements:
        if said == len(heard) and key is not None:
            break  # the key was pressed: nothing after it is played
        if element.tag == "Pause":
            seconds += float(element.get("length", "1"))
        elif said < len(heard):
            if heard[said]:
                seconds += speaker.seconds(heard[said], element.get("language", "en-GB"))
            said += 1
    return seconds


def walk(call: SimulatedCall, path: Path_, speaker: Speaker) -> Heard:
    documents = [call.start()]
    for how, what in path.moves:
        try:
            documents.append(call.press(what) if how == "press" else call.say(what))
        except TwimlError:
            break  # the flow went elsewhere (a key it does not know yet): not queued
    heard = Heard()
    for document, (how, what) in zip(documents[:-1], path.moves, strict=False):
        elements = spoken(document)
        to_end = seconds_of(elements, speaker, None)
        # A spoken force is heard whole: when a caller starts to speak is theirs to say.
        at_option = seconds_of(elements, speaker, what if how == "press" else None)
        says = [e.text or "" for e in elements if e.tag == "Say"]
        DETAIL.append(f"    {to_end:5.1f} s {at_option:5.1f} s  {how} {what}:  {' / '.join(says)}")
        heard.to_end += to_end
        heard.at_option += at_option
        heard.words += sum(len(text.split()) for text in says)
    # The last document: what is said before the caller is put in the queue.
    last = documents[-1]
    heard.queued = last.find("Enqueue") is not None
    before: list[ET.Element] = []
    for element in last:
        if element.tag == "Enqueue":
            break
        before += spoken(element) if element.tag not in ("Say", "Pause") else [element]
    tail = seconds_of(before, speaker, None)
    heard.to_end += tail
    heard.at_option += tail
    heard.words += sum(len((e.text or "").split()) for e in before if e.tag == "Say")
    return heard


def national(number: str) -> str:
    """+448000850000 as a caller dials it: 0800 085 0000."""
    return phonenumbers.format_number(
        phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.NATIONAL
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=160, help="espeak-ng words a minute")
    parser.add_argument("--detail", action="store_true", help="print every prompt's seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'speech.db'}"
        upgrade(url)
        app = create_app(
            {
                "database_url": url,
                "twilio_auth_token": AUTH_TOKEN,
                "secret_key": "b" * 40,
                "contact_key": Fernet.generate_key().decode(),
                "check_staffing": False,
                "environment": "production",
                "check_signatures": True,
                "online_report_url": "crimestoppers-uk.org",
            }
        )
        settings = app.config["IVR_SETTINGS"]
        flow_dir = Path(settings.flows_dir) / "helpline"
        flow = load_flow(flow_dir)
        estimate = keypad_paths(flow)
        speaker = Speaker(folder, args.rate)
        client = app.test_client()
        print(f"espeak-ng at {args.rate} words a minute, measured with soxi")
        print(
            "to end: the caller hears every menu to its end; at option: they press as soon\n"
            "as their option's key is named (Twilio stops the <Say> in a <Gather> at a key).\n"
            "The target applies to 'at option'. Region paths go to each region's last force,\n"
            "with the last role and category (the longest a caller pressing at option hears)."
        )
        print(
            f"{'path':24} {'lang':4} {'number':13} {'to end':>7} {'at opt':>7} {'words':>6} "
            f"{'target':>7}  keys"
        )
        failed = False
        worst: dict[tuple[str, str], dict[str, tuple[float, str]]] = {}
        for path in paths(flow_dir):
            call = SimulatedCall(
                flask_transport(client), AUTH_TOKEN, "http://localhost/", path.number
            )
            DETAIL.clear()
            heard = walk(call, path, speaker)
            target = TARGETS.get(path.name, THROUGH_FORCE)
            if not heard.queued:
                mark = "NOT QUEUED"
            elif heard.at_option >= target:
                mark = "OVER"
            else:
                mark = "ok" if heard.to_end < target else "ok (over to the end)"
            failed |= not mark.startswith("ok")
            keys = " ".join(w for _, w in path.moves)
            name = f"region: {path.name}" if path.worst else path.name
            print(
                f"{name:24} {path.language:4} {national(path.number):13} {heard.to_end:7.1f} "
                f"{heard.at_option:7.1f} {heard.words:6d} {target:6.0f}s  {keys}  {mark}"
            )
            if args.detail:
                print("\n".join(DETAIL))
            if path.worst:
                modes = worst.setdefault((path.language, national(path.number)), {})
                for mode, seconds in (("to end", heard.to_end), ("at option", heard.at_option)):
                    if seconds > modes.get(mode, (0.0, ""))[0]:
                        modes[mode] = (seconds, path.name)
        print("worst region (keypad, each region's last force):")
        for (language, number), modes in worst.items():
            said = "; ".join(f"{m} {s:.1f} s ({r})" for m, (s, r) in modes.items())
            print(f"  {language} {number}: {said}")
        print("word estimate (ivr flows check, 150 words a minute, pauses counted):")
        for language, found in estimate.items():
            print(f"  {language}: {found.seconds:.0f} s ({found.words} words), keys {found.keys}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
