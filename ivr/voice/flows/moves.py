"""Moving a call through its call flow: where a new call starts and where each answer takes it.

It knows step kinds (message, menu, confirm, digits, queue), never a particular
helpline or language: those are data in call_flows/. What the caller hears at each
step is ivr/voice/flows/render.py's job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ivr.core.contact import ContactCipher, parse_phone
from ivr.core.forces import ForceCatalogue
from ivr.models import Call
from ivr.voice import call_life
from ivr.voice.flows.catalogue import Flow, Step

PENDING = "_pending"  # answers key of a value waiting to be confirmed


@dataclass(frozen=True)
class CallerInput:
    """What a Gather brought back. The calling number is reachable only through
    `calling_number()`, which FlowMoves calls on the caller's explicit choice."""

    digits: str = ""
    speech: str = ""
    calling_number: Callable[[], str | None] = lambda: None
    # (typed reference, typed code) -> (report id, questions waiting), or None for a wrong
    # reference, a wrong code or a locked reference alike (ivr/core/followup.py).
    check_followup: Callable[[str, str], tuple[int, int] | None] = lambda _ref, _code: None


@dataclass(frozen=True)
class Outcome:
    """What one request did, for the call's event log (never a contact number)."""

    step: str
    outcome: str
    value: str | None = None


class FlowMoves:
    """Moves a call between its flow's steps: where a new call starts, and where each
    answer takes it. Changes the call in place; the webhook stores it."""

    def __init__(self, forces: ForceCatalogue, cipher: ContactCipher, max_tries: int = 3) -> None:
        self.forces = forces
        self.cipher = cipher
        self.max_tries = max_tries

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
        if self._asks_for_a_person(flow, step, digits, given.speech):
            return self._to_a_person(call, flow, step)
        if step.kind == "menu":
            return self._handle_menu(call, flow, step, digits, given)
        if step.kind == "confirm":
            return self._handle_confirm(call, flow, step, digits)
        if step.kind == "digits" and step.value_type == "reference":
            return self._handle_reference(call, flow, step, digits)
        if step.kind == "digits" and step.value_type == "followup_code":
            return self._handle_followup_code(call, flow, step, digits, given)
        if step.kind == "digits":
            return self._handle_digits(call, flow, step, digits)
        # message and queue steps take no input: render them again.
        return Outcome(step.id, "ignored")

    @staticmethod
    def _asks_for_a_person(flow: Flow, step: Step, digits: str, speech: str) -> bool:
        """The operator key at any menu or read-back (never in a typed number, where 0
        is a digit), or "operator" / "speak to someone" where the step listens."""
        operator = flow.operator
        if operator is None or step.kind not in ("menu", "confirm"):
            return False
        if digits:
            return digits == operator.key
        return bool(speech) and step.speech is not None and operator.heard_in(speech)

    def _to_a_person(self, call: Call, flow: Flow, step: Step) -> Outcome:
        """Straight to the queue with what was answered so far; a number not yet
        confirmed is not kept, and a caller who has not chosen stays anonymous."""
        assert flow.operator is not None
        self._clear_pending(call)
        self._enter(call, flow, flow.operator.step)
        return Outcome(step.id, "operator")

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

    def _handle_reference(self, call: Call, flow: Flow, step: Step, digits: str) -> Outcome:
        """A report's reference typed on the keypad (its letters as the keys that carry
        them); kept only until the code is checked, and never in the event log."""
        typed = digits.rstrip("#")
        if not typed:
            return self._fail(call, flow, step, "silence")
        if not typed.isdigit() or not 6 <= len(typed) <= 16:
            return self._fail(call, flow, step, "invalid_reference")
        call.set_answer(PENDING, typed)
        self._enter(call, flow, step.next)
        return Outcome(step.id, "entered")

    def _handle_followup_code(
        self, call: Call, flow: Flow, step: Step, digits: str, given: CallerInput
    ) -> Outcome:
        """Check the reference and code together. Found: the caller is queued with the
        report for the handler (`followup_report`), told if a question waits. Not found
        (the same for a wrong reference, a wrong code and a locked one): type both
        again (`no`), and after `max_tries` go on to a handler anyway (`fail_next`)."""
        typed = digits.rstrip("#")
        if not typed:
            return self._fail(call, flow, step, "silence")
        reference = str((call.answers or {}).get(PENDING) or "")
        found = given.check_followup(reference, typed)
        self._clear_pending(call, keep_secret=True)
        if found is not None:
            report_id, waiting = found
            call.set_answer("followup_report", report_id)
            call.preface = ["followup.found", *(["followup.question_waits"] if waiting else [])]
            self._enter(call, flow, step.next)
            return Outcome(step.id, "found")
        failures = int((call.answers or {}).get("_followup_failures", 0)) + 1
        call.set_answer("_followup_failures", failures)
        call.preface = ["followup.not_found"]
        if failures < self.max_tries:
            self._enter(call, flow, step.no or step.fail_next)
            return Outcome(step.id, "not_found")
        call.preface = ["followup.not_found", "notice.gave_up"]
        self._enter(call, flow, step.fail_next)
        return Outcome(step.id, "gave_up")

    def _fail(self, call: Call, flow: Flow, step: Step, notice: str) -> Outcome:
        call.tries += 1
        if call.tries < self.max_tries:
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
            if step.kind == "queue":
                call_life.enqueue(call)
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


def _short(value: Any) -> str | None:
    return None if value is None else str(value)[:64]
