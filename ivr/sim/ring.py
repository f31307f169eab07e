"""`ivr call`: ring the line from a terminal, as a caller on a phone would.

A SimulatedCall (ivr/sim/twilio.py) sends what Twilio sends; this module plays
Twilio's part for the caller: it runs each TwiML document's verbs in order,
prints what a caller hears, takes an answer at each <Gather> (keys, silence or
`say: words`), follows actions and redirects, and ends in the queue or with a
hang-up, then sends the status callback. Answers come from a person at the
keyboard or from a script; a script that goes wrong stops with one clear line.
"""

from __future__ import annotations

import contextlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ivr.core.spoken import WORDS_PER_MINUTE, spoken_words
from ivr.sim.twilio import SimulatedCall, parse_twiml

KEYS = re.compile(r"^[0-9*#]+$")
SECONDS_PER_ANSWER = 2  # a caller's time to press a key or say a few words


class CallScriptError(Exception):
    """The scripted call cannot go on as written; one line for a human."""


@dataclass(frozen=True)
class Answer:
    kind: str  # keys | speech | silence | hang_up
    value: str = ""


def parse_answer(text: str) -> Answer:
    """One answer as typed: digits, * and #; empty for silence; `say: words` to speak."""
    text = text.strip()
    if not text:
        return Answer("silence")
    if text.lower().startswith("say:"):
        words = text[4:].strip()
        if words:
            return Answer("speech", words)
    keys = text.replace(" ", "")
    if KEYS.match(keys):
        return Answer("keys", keys)
    raise ValueError(
        f"{text!r} is not an answer: type keys (0-9, * and #), nothing for silence, or 'say: words'"
    )


def script_answers(items: list[str]) -> list[Answer]:
    answers = []
    for number, item in enumerate(items, start=1):
        try:
            answers.append(parse_answer(item))
        except ValueError as exc:
            raise CallScriptError(f"answer {number}: {exc}") from None
    return answers


@dataclass
class Ending:
    how: str  # queued | hung_up | line_hung_up
    step: str = ""
    queue: str = ""
    place: int | None = None
    seconds: int = 0

    @property
    def summary(self) -> str:
        if self.how == "queued":
            place = f"place {self.place}" if self.place is not None else "place not said"
            return f"in the queue {self.queue!r} ({place}), then hung up"
        if self.how == "hung_up":
            return f"the caller hung up at step {self.step}"
        return f"the line hung up at step {self.step}"


@dataclass
class Ring:
    """One call from start to end. `ask(step)` gives the next answer, or None to hang up."""

    call: SimulatedCall
    ask: Callable[[str], Answer | None]
    say: Callable[[str], None]
    scripted: bool = False
    # The words of the line's "we give up, let's move on" notice, in every language:
    # hearing them after a key means the flow refused that key as often as it allows.
    gave_up_texts: tuple[str, ...] = ()
    hold: Callable[[], None] = lambda: None
    words_heard: int = 0
    answers_given: int = 0
    typed_ahead: list[str] = field(default_factory=list)

    def run(self) -> Ending:
        self.say(f"Ringing {self.call.to_number} from {self.call.from_number} …")
        document = self.call.start()
        try:
            return self._run(document)
        except BaseException:
            # A script that stops on an error (a refused key, bad TwiML, Ctrl-C) still
            # ends its call, as the phone network would: otherwise it stays "in flow"
            # in the call log and the figures for ever.
            self._end_quietly()
            raise

    def _end_quietly(self) -> None:
        with contextlib.suppress(Exception):
            status, _body = self.call.hang_up(duration=self._seconds())
            self.say(f"(status callback sent: completed, HTTP {status})")

    def _run(self, document: ET.Element) -> Ending:
        while True:
            outcome = self._play(document)
            if isinstance(outcome, Ending):
                outcome.seconds = self._seconds()
                status, body = self.call.hang_up(duration=outcome.seconds)
                parse_twiml(status, body)
                self.say(f"(status callback sent: completed, {outcome.seconds} s)")
                return outcome
            document = outcome

    # ------------------------------------------------------------ the verbs
    def _play(self, document: ET.Element) -> Ending | ET.Element:
        """Run the document's verbs; the next document, or how the call ended."""
        for verb in document:
            if verb.tag == "Say":
                self._hear(verb)
            elif verb.tag == "Pause":
                self.say(f"   (silence, {verb.get('length', '1')} s)")
            elif verb.tag == "Play":
                self.say("   (music)")
            elif verb.tag == "Gather":
                for child in verb:
                    if child.tag == "Say":
                        self._hear(child)
                answer = self._answer(verb)
                if answer is None:
                    return self._caller_hangs_up()
                if answer.kind == "silence":
                    self.say("   (silence)")
                    continue  # Twilio goes on to the verb after the <Gather>
                return self._answered(answer)
            elif verb.tag == "Redirect":
                return self.call.follow(verb.text or "")
            elif verb.tag == "Enqueue":
                return self._queue(verb)
            elif verb.tag == "Hangup":
                return self._line_hangs_up("the line hung up")
            else:
                return self._line_hangs_up(f"the line used <{verb.tag}>, which a test call ends at")
        return self._line_hangs_up("the line hung up (nothing more to do)")

    def _hear(self, say: ET.Element) -> None:
        text = say.text or ""
        self.words_heard += spoken_words(text)
        self.say(f"   [{say.get('voice', '')} {say.get('language', '')}] {text}")

    def _answer(self, gather: ET.Element) -> Answer | None:
        if self.typed_ahead:
            return Answer("keys", self.typed_ahead.pop(0))
        while True:
            answer = self.ask(self.step)
            if answer is None or answer.kind != "speech" or "speech" in gather.get("input", ""):
                if answer is not None:
                    self.answers_given += 1
                return answer
            message = f"step {self.step} takes keys only: it cannot hear {answer.value!r}"
            if self.scripted:
                raise CallScriptError(message)
            self.say(f"   ({message})")

    def _answered(self, answer: Answer) -> ET.Element:
        """The answer given at the current <Gather>, sent as Twilio sends it."""
        if answer.kind == "speech":
            self.say(f"   > said: {answer.value}")
            return self.call.say(answer.value)
        self.say(f"   > pressed: {answer.value}")
        step = self.step
        document, pressed = self.call.press_once(answer.value)
        if pressed.typed_ahead:  # the next <Gather> hears them, before anything is asked
            self.typed_ahead.append(pressed.typed_ahead)
        if pressed.digits != "*":
            self._check_not_refused(document, step, pressed.digits)
        return document

    def _queue(self, enqueue: ET.Element) -> Ending:
        name = (enqueue.text or "").strip()
        wait = self.call.wait_in_queue()
        words = []
        for say in wait.iter("Say"):
            self._hear(say)
            words.append(say.text or "")
        found = re.search(r"\d+", " ".join(words))
        place = int(found.group()) if found else None
        where = f"place {place}" if place is not None else "place not said"
        self.say(f"== in the queue {name!r}, {where}; a call handler can take the call now")
        self.hold()
        self.call.leave_queue("hangup", queue_time=0)
        return Ending("queued", self.step, queue=name, place=place)

    def _caller_hangs_up(self) -> Ending:
        self.say(f"== you hung up at step {self.step}")
        return Ending("hung_up", self.step)

    def _line_hangs_up(self, why: str) -> Ending:
        self.say(f"== {why}")
        return Ending("line_hung_up", self.step)

    # ------------------------------------------------------------ checks
    def _check_not_refused(self, document: ET.Element, step: str, keys: str) -> None:
        if not self.scripted or not self.gave_up_texts:
            return
        said = " ".join(say.text or "" for say in document.iter("Say"))
        if any(text and text in said for text in self.gave_up_texts):
            raise CallScriptError(
                f"key {keys!r} was refused at step {step} more often than the flow allows "
                "(it gave up and moved on)"
            )

    @property
    def step(self) -> str:
        gather = self.call.twiml.find("Gather") if self.call.twiml is not None else None
        return _step_of(gather.get("action", "") if gather is not None else self.call.last_url)

    def _seconds(self) -> int:
        speech = self.words_heard * 60 / WORDS_PER_MINUTE
        return round(speech + self.answers_given * SECONDS_PER_ANSWER)


def _step_of(url: str) -> str:
    path = urlsplit(url).path
    return path.rsplit("/", 1)[-1] if "/step/" in path else path or "start"


def keyboard(
    read: Callable[[str], str], echo: Callable[[str], None]
) -> Callable[[str], Answer | None]:
    """Answers typed by a person: re-asks on a typo; end of input hangs up."""

    echo("Answer with keys (0-9, * and #), Enter alone for silence, or 'say: words'; "
         "Ctrl-D hangs up.")  # fmt: skip

    def ask(step: str) -> Answer | None:
        while True:
            try:
                line = read(f"[{step}] > ")
            except EOFError:
                return None
            try:
                return parse_answer(line)
            except ValueError as exc:
                echo(f"   ({exc})")

    return ask


class Script:
    """Answers from --keys or a file; running out hangs up, like a caller who stops."""

    def __init__(self, answers: list[Answer]) -> None:
        self.answers = list(answers)

    def __call__(self, step: str) -> Answer | None:
        return self.answers.pop(0) if self.answers else None

    @property
    def left(self) -> list[Answer]:
        return self.answers
