"""How long a caller listens before reaching a person: the prompts as sound, not words.

    .venv/bin/python bench/speech.py             # every path, English and Welsh
    .venv/bin/python bench/speech.py --rate 150  # a slower voice

Each path is walked through the real webhooks (signed, TwiML parsed, redirects
followed, exactly as Twilio does: ivr/sim/twilio.py) on a temporary SQLite
file; every <Say> the caller hears before the <Enqueue> is synthesised with
Debian's espeak-ng (en-GB, or the Welsh `cy` voice) and measured with sox
(`soxi -D`), and every <Pause> is added. The caller is assumed to listen to
each menu to its end before pressing: the figure is the worst case for that
path, not the quickest a caller who knows the line can do.

Paths (keys pressed, per language; from ivr/sim/walks.py, read from the flow itself):
  shortest       the keypad path with the fewest words (`ivr flows check`'s path)
  keypad force   1 for the list of regions, then the force menu (London and South
                 East, the Met); an officer, bribery, nobody at risk, anonymous
  speech force   the force said aloud ("Kent"), then confirmed; the same answers
  operator       0 as soon as the welcome names it: straight to a person
Each language is walked from every number that reaches it (the flow's `numbers`):
the main number with its language menu's key (2 for Cymraeg), and a number that
starts in that language at the welcome (the Welsh line, 0800 085 0001).
Targets (issue 15): under 60 s on the shortest path, under 75 s through region
and force, in both languages. espeak-ng at 160 words a minute speaks a little
faster than Twilio's Polly voices; the word estimate of `ivr flows check`
(150 words a minute, pauses counted) is printed beside it.
"""

from __future__ import annotations

import argparse
import hashlib
import re
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
from ivr.sim.walks import Answers, keys_to_queue, keys_until  # noqa: E402
from ivr.voice.flows.catalogue import Flow, load_flow  # noqa: E402
from ivr.voice.flows.check import keypad_paths  # noqa: E402

AUTH_TOKEN = "bench-speech-0123456789abcdef"
ESPEAK_VOICES = {"en-GB": "en-gb", "cy-GB": "cy"}
TARGETS = {"shortest": 60.0, "keypad force": 75.0, "speech force": 75.0, "operator": 60.0}


@dataclass(frozen=True)
class Path_:
    name: str
    language: str
    number: str  # the number rung (E.164)
    moves: tuple[tuple[str, str], ...]  # ("press", "1") or ("say", "Kent")
    # The caller presses as soon as they hear the key for a person (the welcome says it),
    # not after the whole menu: Twilio stops speaking at the first key.
    barge_in: bool = False


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
            keypad = keys_to_queue(answers, start=start, flow_dir=flow_dir)
            out += [
                Path_(
                    "shortest",
                    lang,
                    number,
                    tuple(("press", k) for k in (*first, *after_language)),
                ),
                Path_("keypad force", lang, number, tuple(("press", k) for k in keypad)),
                Path_(
                    "speech force",
                    lang,
                    number,
                    (
                        *(("press", k) for k in to_force),
                        ("say", "Kent"),
                        ("press", "1"),  # that's right
                        *(("press", k) for k in after_force),
                    ),
                ),
                Path_(
                    "operator",
                    lang,
                    number,
                    (*(("press", k) for k in first), ("press", "0")),
                    barge_in=True,
                ),
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


def heard_seconds(document: ET.Element, speaker: Speaker) -> tuple[float, int]:
    seconds, words = 0.0, 0
    for element in document.iter():
        if element.tag == "Say" and element.text:
            said = speaker.seconds(element.text, element.get("language", "en-GB"))
            DETAIL.append(f"    {said:5.1f} s  {element.text}")
            seconds += said
            words += len(element.text.split())
        elif element.tag == "Pause":
            seconds += float(element.get("length", "1"))
    return seconds, words


def walk(call: SimulatedCall, path: Path_, speaker: Speaker) -> tuple[float, int, bool]:
    documents = [call.start()]
    for how, what in path.moves:
        try:
            documents.append(call.press(what) if how == "press" else call.say(what))
        except TwimlError:
            break  # the flow went elsewhere (a key it does not know yet): not queued
    seconds, words = 0.0, 0
    for index, document in enumerate(documents[:-1]):
        if path.barge_in and index == len(documents) - 2:
            document = _until_operator_key(document)
        s, w = heard_seconds(document, speaker)
        seconds, words = seconds + s, words + w
    # The last document: what is said before the caller is put in the queue.
    last = documents[-1]
    queued = last.find("Enqueue") is not None
    for element in last:
        if element.tag == "Enqueue":
            break
        wrapper = ET.Element("Response")
        wrapper.append(element)
        s, w = heard_seconds(wrapper, speaker)
        seconds, words = seconds + s, words + w
    return seconds, words, queued


def _until_operator_key(document: ET.Element) -> ET.Element:
    """The <Say>s up to the one that names the key for a person ("press 0")."""
    heard = ET.Element("Response")
    for say in document.iter("Say"):
        heard.append(say)
        if re.search(r"\b0\b", say.text or ""):
            break
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
            f"{'path':14} {'lang':4} {'number':13} {'audio s':>8} {'words':>6} {'target':>7}  keys"
        )
        failed = False
        for path in paths(flow_dir):
            call = SimulatedCall(
                flask_transport(client), AUTH_TOKEN, "http://localhost/", path.number
            )
            DETAIL.clear()
            seconds, words, queued = walk(call, path, speaker)
            target = TARGETS[path.name]
            mark = "ok" if queued and seconds < target else "OVER" if queued else "NOT QUEUED"
            failed |= mark != "ok"
            keys = " ".join(w for _, w in path.moves)
            print(
                f"{path.name:14} {path.language:4} {national(path.number):13} {seconds:8.1f} "
                f"{words:6d} {target:6.0f}s  "
                f"{keys}  {mark}"
            )
            if args.detail:
                print("\n".join(DETAIL))
        print("word estimate (ivr flows check, 150 words a minute, pauses counted):")
        for language, found in estimate.items():
            print(f"  {language}: {found.seconds:.0f} s ({found.words} words), keys {found.keys}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
