"""The one engine that runs every call flow: moves a call through its steps and renders TwiML.

It knows step kinds (message, menu, confirm, digits, queue), never a particular
helpline or language: those are data in call_flows/. Rendering is a pure
function of the call's stored state, so a retried request is answered by
rendering again, without storing the TwiML (which may read back a contact number).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.core.contact import ContactCipher, parse_phone, spoken_groups
from ivr.core.forces import ForceCatalogue
from ivr.models import Call, CallStatus, utcnow
from ivr.voice.flows.catalogue import Flow, Step

PENDING = "_pending"  # answers key of a value waiting to be confirmed


@dataclass(frozen=True)
class CallerInput:
    """What a Gather brought back. The calling number is reachable only through
    `calling_number()`, which the engine calls on the caller's explicit choice."""

    digits: str = ""
    speech: str = ""
    calling_number: Callable[[], str | None] = lambda: None


@dataclass(frozen=True)
class Outcome:
    """What one request did, for the call's event log (never a contact number)."""

    step: str
    outcome: str
    value: str | None = None


@dataclass(frozen=True)
class EngineSettings:
    max_tries: int = 3
    gather_timeout: int = 6
    online_report_url: str = ""
    queue_pause_seconds: int = 20
    queue_offer_after_seconds: int = 180


class Engine:
    def __init__(
        self, forces: ForceCatalogue, cipher: ContactCipher, settings: EngineSettings
    ) -> None:
        self.forces = forces
        self.cipher = cipher
        self.settings = settings
        self._hints = ", ".join(forces.speech_hints())
        self._rendered: dict[tuple[Any, ...], str] = {}

    # ----------------------------------------------------------------- moving
    def begin(self, call: Call, flow: Flow, dialled: str | None = None) -> None:
        """Start a call at the dialled number's entry (its language and first step)."""
        entry = flow.entry(dialled)
        call.line = flow.id
        # A number with a language of its own decides; otherwise keep any language
        # the call already has (the default number starts in the first language).
        if dialled and entry.language != flow.languages[0]:
            call.language = entry.language
        else:
            call.language = call.language or entry.language
        call.answers = {}
        call.preface = []
        self._enter(call, flow, entry.start)

    def handle(self, call: Call, flow: Flow, given: CallerInput) -> Outcome:
        """Apply one answer to the call's current step; the state changes in place."""
        step = flow.steps[call.step]
        call.preface = []
        digits = given.digits.strip()
        if digits == "*" and step.kind in ("menu", "confirm"):
            return Outcome(step.id, "repeat")
        if step.kind == "menu":
            return self._handle_menu(call, flow, step, digits, given)
        if step.kind == "confirm":
            return self._handle_confirm(call, flow, step, digits)
        if step.kind == "digits":
            return self._handle_digits(call, flow, step, digits)
        # message and queue steps take no input: render them again.
        return Outcome(step.id, "ignored")

    def _handle_menu(
        self, call: Call, flow: Flow, step: Step, digits: str, given: CallerInput
    ) -> Outcome:
        option = step.option(digits) if digits else None
        if option is not None:
            for name, value in option.set.items():
                call.set_answer(name, value)
            if step.answer and option.value is not None:
                call.set_answer(step.answer, option.value)
            if option.language:
                call.language = option.language
            if option.take == "calling_number":
                number = parse_phone(given.calling_number() or "")
                if number is None:
                    call.preface = ["notice.unavailable"]
                    self._enter(call, flow, option.unavailable or step.fail_next)
                    return Outcome(step.id, "unavailable", digits)
                self._set_pending_secret(call, number)
                self._enter(call, flow, option.confirm or step.confirm or "")
                return Outcome(step.id, "chose", digits)
            call.preface = list(option.then_say)
            self._enter(call, flow, option.next)
            value = option.value if option.value is not None else digits
            return Outcome(step.id, "chose", _short(value))
        if not digits and not given.speech and step.silence_next:
            self._enter(call, flow, step.silence_next)
            return Outcome(step.id, "silence_next")
        if given.speech and step.speech == "force":
            force_id = self.forces.match(given.speech)
            if force_id is None:
                return self._fail(call, flow, step, "not_understood")
            call.set_answer(PENDING, force_id)
            self._enter(call, flow, step.confirm or step.fail_next)
            return Outcome(step.id, "heard", force_id)
        return self._fail(call, flow, step, "invalid" if digits else "silence")

    def _handle_confirm(self, call: Call, flow: Flow, step: Step, digits: str) -> Outcome:
        if digits == "1":
            if step.value_type == "phone":
                call.set_answer("contact_confirmed", True)
            elif step.answer:
                call.set_answer(step.answer, (call.answers or {}).get(PENDING))
            self._clear_pending(call, keep_secret=True)
            self._enter(call, flow, step.yes)
            return Outcome(step.id, "confirmed")
        if digits == "2":
            self._clear_pending(call)
            self._enter(call, flow, step.no)
            return Outcome(step.id, "rejected")
        return self._fail(call, flow, step, "invalid" if digits else "silence")

    def _handle_digits(self, call: Call, flow: Flow, step: Step, digits: str) -> Outcome:
        if not digits:
            return self._fail(call, flow, step, "silence")
        number = parse_phone(digits.rstrip("#"))
        if number is None:
            return self._fail(call, flow, step, "invalid_number")
        self._set_pending_secret(call, number)
        self._enter(call, flow, step.confirm or step.fail_next)
        return Outcome(step.id, "entered")

    def _fail(self, call: Call, flow: Flow, step: Step, notice: str) -> Outcome:
        call.tries += 1
        if call.tries < self.settings.max_tries:
            call.preface = [f"notice.{notice}"]
            return Outcome(step.id, notice)
        # Never hang up on a caller for a wrong key: record "unknown" and go on.
        if step.answer and step.fail_value is not None:
            call.set_answer(step.answer, step.fail_value)
        self._clear_pending(call)
        call.preface = [f"notice.{notice}", "notice.gave_up"]
        self._enter(call, flow, step.fail_next)
        return Outcome(step.id, "gave_up", _short(step.fail_value))

    def _enter(self, call: Call, flow: Flow, step_id: str) -> None:
        """Go to a step; message steps are spoken and passed through at once."""
        for _ in range(len(flow.steps)):
            step = flow.steps[step_id]
            call.step = step.id
            call.tries = 0
            if step.kind == "queue" and call.status == CallStatus.IN_FLOW:
                call.status = CallStatus.QUEUED
                call.queued_at = utcnow()
            if step.kind != "message":
                return
            call.preface = [*call.preface, *step.say]
            step_id = step.next
        raise RuntimeError(f"flow {flow.id}: message steps loop without end")

    def _set_pending_secret(self, call: Call, number: str) -> None:
        call.contact_number_enc = self.cipher.encrypt(number)
        call.set_answer("contact_confirmed", False)

    def _clear_pending(self, call: Call, keep_secret: bool = False) -> None:
        answers = dict(call.answers or {})
        answers.pop(PENDING, None)
        call.answers = answers
        if not keep_secret and not answers.get("contact_confirmed"):
            call.contact_number_enc = None

    # -------------------------------------------------------------- rendering
    def render_text(self, call: Call, flow: Flow) -> str:
        """The call's TwiML as text, remembered: rendering is a pure function of the state,
        and most callers pass through the same few states (every new call renders the same
        first menu). A confirm step reads back a pending value, maybe a contact number:
        it is rendered afresh each time and never kept."""
        if flow.steps[call.step].kind == "confirm":
            return str(self.render(call, flow))
        key = (flow.id, call.step, call.seq, call.language, tuple(call.preface or ()))
        text = self._rendered.get(key)
        if text is None:
            text = str(self.render(call, flow))
            if len(self._rendered) >= 4096:  # bounded: a flow has few states worth keeping
                self._rendered.clear()
            self._rendered[key] = text
        return text

    def render(self, call: Call, flow: Flow) -> VoiceResponse:
        step = flow.steps[call.step]
        response = VoiceResponse()
        for key in call.preface or []:
            self._say(response, flow, call, key)
        if step.kind == "queue":
            for key in step.say:
                self._say(response, flow, call, key)
            response.enqueue(
                flow.queue,
                wait_url="/voice/wait",
                wait_url_method="POST",
                action="/voice/queue-left",
                method="POST",
            )
            return response
        action = f"/voice/step/{step.id}?seq={call.seq}"
        gather = self._gather(call, flow, step, action)
        # One <Say> for the question and its options: fewer pauses, smaller TwiML.
        # An option that changes the language is spoken in that language, so its
        # own speakers hear it; consecutive words in one language share one <Say>.
        value = self._pending_spoken(call, flow, step)
        language = call.language
        words = [(language, self._text(flow, language, key, value=value)) for key in step.say]
        if step.kind == "menu":
            for option in step.options:
                spoken_in = option.language if option.language in flow.voices else language
                label = flow.prompt(spoken_in, option.label)
                words.append(
                    (
                        spoken_in,
                        self._text(flow, spoken_in, step.option_say, label=label, key=option.key),
                    )
                )
        elif step.kind == "confirm":
            words.append((language, self._text(flow, language, "confirm.options")))
        for spoken_in, group in groupby(words, key=lambda pair: pair[0]):
            text = " ".join(w for _, w in group if w)
            self._say_text(gather, flow, spoken_in, text)
        response.append(gather)
        # Silence: Twilio goes on past the Gather; come back to the same step.
        response.redirect(action, method="POST")
        return response

    def _gather(self, call: Call, flow: Flow, step: Step, action: str) -> Gather:
        voice = flow.voices[call.language]
        kwargs: dict[str, Any] = {
            "action": action,
            "method": "POST",
            "timeout": self.settings.gather_timeout,
        }
        if step.kind == "digits":
            kwargs.update(input="dtmf", finish_on_key="#", timeout=10)
        elif step.speech:
            kwargs.update(
                input="dtmf speech",
                num_digits=1,
                language=voice.recognition,
                hints=self._hints,
                # "auto" is refused with a speech model set (Twilio warning 13335).
                speech_timeout=2,
                speech_model="phone_call",
            )
        else:
            kwargs.update(input="dtmf", num_digits=1)
        return Gather(**kwargs)

    def _pending_spoken(self, call: Call, flow: Flow, step: Step) -> str:
        if step.kind != "confirm":
            return ""
        if step.value_type == "phone":
            number = self.cipher.decrypt(call.contact_number_enc or b"")
            return spoken_groups(number) if number else ""
        force_id = (call.answers or {}).get(PENDING)
        # The force's name in the caller's language where the prompts give one
        # ("Heddlu Gogledd Cymru"); otherwise its name in config/forces.toml.
        if call.language != flow.languages[0]:
            name = flow.prompts.get(call.language, {}).get(f"force.{force_id}")
            if name:
                return name
        return self.forces.name(force_id)

    def _text(self, flow: Flow, language: str, prompt_key: str, **values: Any) -> str:
        values.setdefault("online", self.settings.online_report_url)
        return flow.prompt(language, prompt_key, **values)

    def _say(self, verb: Any, flow: Flow, call: Call, prompt_key: str, **values: Any) -> None:
        text = self._text(flow, call.language, prompt_key, **values)
        self._say_text(verb, flow, call.language, text)

    def _say_text(self, verb: Any, flow: Flow, language: str, text: str) -> None:
        if text:
            voice = flow.voices[language]
            verb.say(text, voice=voice.voice, language=voice.language)

    def render_wait(
        self, call: Call, flow: Flow, position: int, waited_seconds: int
    ) -> VoiceResponse:
        """What a queued caller hears each time Twilio fetches the wait URL."""
        response = VoiceResponse()
        for key in flow.wait.get("say", []):
            self._say(response, flow, call, key, position=position)
        if waited_seconds >= self.settings.queue_offer_after_seconds and flow.wait.get("offer"):
            gather = Gather(
                action="/voice/queue-choice", method="POST", input="dtmf", num_digits=1, timeout=5
            )
            self._say(gather, flow, call, flow.wait["offer"])
            response.append(gather)
        response.pause(length=self.settings.queue_pause_seconds)
        return response

    def render_leaving(self, call: Call, flow: Flow) -> VoiceResponse:
        response = VoiceResponse()
        self._say(response, flow, call, flow.wait.get("leaving", "queue.leaving"))
        response.hangup()
        return response

    def render_error(self, flow: Flow, language: str | None = None) -> VoiceResponse:
        """The apology every failure becomes: it says how else to report, then ends."""
        response = VoiceResponse()
        language = language if language in flow.voices else flow.languages[0]
        voice = flow.voices[language]
        text = flow.prompt(language, "notice.error", online=self.settings.online_report_url)
        response.say(text, voice=voice.voice, language=voice.language)
        response.hangup()
        return response


def _short(value: Any) -> str | None:
    return None if value is None else str(value)[:64]
