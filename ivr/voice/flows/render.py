"""Rendering a call's TwiML: what the caller hears at their step, while waiting, on leaving
the queue, and the apology every failure becomes.

Rendering is a pure function of the call's stored state, so a retried request is
answered by rendering again, without storing the TwiML (which may read back a
contact number); `render_text` remembers the text of states that hold no secret.
Every URL it writes comes from ivr/voice/urls.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.core.contact import ContactCipher, spoken_groups
from ivr.core.forces import ForceCatalogue
from ivr.core.opening_hours import DAYS
from ivr.models import Call
from ivr.voice import urls
from ivr.voice.flows.catalogue import Flow, Step
from ivr.voice.flows.moves import PENDING


@dataclass(frozen=True)
class RenderSettings:
    # No defaults here: config/default.toml has them, and Voice.build passes each.
    gather_timeout: int
    online_report_url: str
    queue_pause_seconds: int
    queue_offer_after_seconds: int


class Renderer:
    def __init__(
        self, forces: ForceCatalogue, cipher: ContactCipher, settings: RenderSettings
    ) -> None:
        self.forces = forces
        self.cipher = cipher
        self.settings = settings
        self._hints = ", ".join(forces.speech_hints())
        self._rendered: dict[tuple[Any, ...], str] = {}

    def render_text(self, call: Call, flow: Flow, tries: int = 0) -> str:
        """The call's TwiML as text, remembered: rendering is a pure function of the state,
        and most callers pass through the same few states (every new call renders the same
        first menu). A confirm step reads back a pending value, maybe a contact number:
        it is rendered afresh each time and never kept."""
        if flow.steps[call.step].kind == "confirm":
            return str(self.render(call, flow, tries))
        key = (flow.id, call.step, call.seq, call.language, tuple(call.preface or ()), tries)
        text = self._rendered.get(key)
        if text is None:
            text = str(self.render(call, flow, tries))
            if len(self._rendered) >= 4096:  # bounded: a flow has few states worth keeping
                self._rendered.clear()
            self._rendered[key] = text
        return text

    def render(self, call: Call, flow: Flow, tries: int = 0) -> VoiceResponse:
        """The TwiML of the call's step. `tries`: how many times the caller has held
        through a failure to get here (ivr/voice/outage.py), carried on the answer's URL."""
        step = flow.steps[call.step]
        response = VoiceResponse()
        if step.kind == "queue":
            for key in call.preface or []:
                self._say(response, flow, call, key)
            for key in step.say:
                self._say(response, flow, call, key)
            response.enqueue(
                flow.queue,
                wait_url=urls.WAIT,
                wait_url_method="POST",
                action=urls.QUEUE_LEFT,
                method="POST",
            )
            return response
        action = urls.step(step.id, call.seq, tries)
        gather = self._gather(call, flow, step, action)
        # What comes before the question (the welcome, a notice) is inside the Gather
        # too: a caller who knows the line can press at once, the operator key included.
        for key in call.preface or []:
            self._say(gather, flow, call, key)
        # One <Say> for the question and its options: fewer pauses, smaller TwiML.
        # An option that changes the language is spoken in that language, so its
        # own speakers hear it; consecutive words in one language share one <Say>.
        value = self._pending_spoken(call, flow, step)
        language = call.language
        words = [(language, self._text(flow, language, key, value=value)) for key in step.say]
        if step.kind == "menu":
            for option in step.options:
                if not option.spoken:
                    continue
                spoken_in = flow.option_language(option, language)
                label = flow.prompt(spoken_in, option.label)
                words.append(
                    (
                        spoken_in,
                        self._text(
                            flow,
                            spoken_in,
                            option.say or step.option_say,
                            label=label,
                            key=option.key,
                        ),
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
                hints=self._hints_for(flow),
                # "auto" is refused with a speech model set (Twilio warning 13335).
                speech_timeout=2,
                speech_model="phone_call",
            )
        else:
            kwargs.update(input="dtmf", num_digits=1)
        return Gather(**kwargs)

    def _hints_for(self, flow: Flow) -> str:
        words = flow.operator.words if flow.operator else ()
        return ", ".join([self._hints, *words]) if words else self._hints

    def _pending_spoken(self, call: Call, flow: Flow, step: Step) -> str:
        if step.kind != "confirm":
            return ""
        if step.value_type == "phone":
            number = self.cipher.decrypt(call.contact_number_enc or b"")
            return spoken_groups(number) if number else ""
        force_id = (call.answers or {}).get(PENDING)
        # The force's name in the caller's language where the prompts give one
        # ("Heddlu Gogledd Cymru"); otherwise its name in config/forces.toml.
        return flow.name_in(call.language, "force", force_id) or self.forces.name(force_id)

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
        self,
        call: Call,
        flow: Flow,
        position: int,
        waited_seconds: int,
        recent_wait: float | None = None,
    ) -> VoiceResponse:
        """What a queued caller hears each time Twilio fetches the wait URL; with how long
        callers have waited lately, rounded, when there is an honest figure."""
        response = VoiceResponse()
        # A caller who left a number is not told their call is anonymous.
        say = flow.wait.get("say", [])
        if call.anonymous is False:
            say = flow.wait.get("say_with_contact", say)
        for key in say:
            self._say(response, flow, call, key, position=position)
        if recent_wait is not None:
            key, minutes = _waited(recent_wait)
            self._say(response, flow, call, key, minutes=minutes)
        if waited_seconds >= self.settings.queue_offer_after_seconds and flow.wait.get("offer"):
            gather = Gather(
                action=urls.QUEUE_CHOICE, method="POST", input="dtmf", num_digits=1, timeout=5
            )
            self._say(gather, flow, call, flow.wait["offer"])
            response.append(gather)
        response.pause(length=self.settings.queue_pause_seconds)
        return response

    def render_nobody_left(self, call: Call, flow: Flow) -> VoiceResponse:
        """A queued caller when the last handler has gone: told so, then out of the
        queue (its action then says goodbye with the online address)."""
        response = VoiceResponse()
        self._say(response, flow, call, "hours.nobody_queued")
        response.leave()
        return response

    def render_turned_away(
        self, flow: Flow, languages: list[str], why: str, now: datetime
    ) -> VoiceResponse:
        """Before the menus: closed (and when it opens again) or nobody free, with the
        online report and 999; in every language the number offers, then goodbye."""
        response = VoiceResponse()
        reopens = flow.hours.next_opening(now) if flow.hours else None
        for language in languages:
            if why == "closed" and reopens is not None:
                text = self._text(
                    flow, language, "hours.closed", **_reopening(flow, language, now, reopens)
                )
            else:
                text = self._text(flow, language, "hours.nobody")
            self._say_text(response, flow, language, text)
        response.hangup()
        return response

    def render_leaving(self, call: Call, flow: Flow) -> VoiceResponse:
        response = VoiceResponse()
        self._say(response, flow, call, flow.wait.get("leaving", "queue.leaving"))
        response.hangup()
        return response

    def render_error(self, flow: Flow, language: str | None = None) -> VoiceResponse:
        """The apology every failure becomes: it says how else to report, then ends."""
        response = VoiceResponse()
        language = flow.spoken_language(language)
        voice = flow.voices[language]
        text = flow.prompt(language, "notice.error", online=self.settings.online_report_url)
        response.say(text, voice=voice.voice, language=voice.language)
        response.hangup()
        return response


def _waited(seconds: float) -> tuple[str, int]:
    """The prompt and the rounded minutes for a recent wait: near enough to be honest,
    round enough to be heard (to the minute, to five minutes past ten)."""
    if seconds < 45:
        return "queue.waited_under_a_minute", 0
    if seconds < 90:
        return "queue.waited_a_minute", 1
    minutes = round(seconds / 60)
    if minutes > 10:
        minutes = 5 * round(minutes / 5)
    return "queue.waited", minutes


def _reopening(flow: Flow, language: str, now: datetime, reopens: datetime) -> dict[str, str]:
    """{day} and {time} for "open again {day} at {time}", in the line's own time."""
    hours = flow.hours
    assert hours is not None
    ahead = (reopens.date() - now.astimezone(hours.timezone).date()).days
    if ahead == 0:
        day = flow.prompt(language, "hours.today")
    elif ahead == 1:
        day = flow.prompt(language, "hours.tomorrow")
    else:
        day = flow.prompt(language, f"days.{DAYS[reopens.weekday()]}")
    return {"day": day, "time": f"{reopens.hour}:{reopens.minute:02d}"}
