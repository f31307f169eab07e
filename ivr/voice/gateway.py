"""Bringing a queued caller to a handler's phone, behind a small gateway.

Taking a call redirects the caller's live call (a REST update of the call
resource) to TwiML that dials the handler's phone; before the two are connected
the handler hears a whisper with the call's context (ivr/voice/urls.py `whisper`).
`TwilioGateway` does this with Twilio's REST client; `FakeGateway` only records
what was asked, for tests and development (setting `call_gateway`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from twilio.base.exceptions import TwilioException
from twilio.http import HttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import Dial, VoiceResponse

from ivr.core.settings import Settings
from ivr.voice import urls
from ivr.voice.twilio_rest import quiet_http_client

# Where the app keeps its gateway (app.extensions).
GATEWAY = "ivr.voice.gateway"


class GatewayError(Exception):
    """Twilio refused or could not be reached; the message is one line for a handler."""


class CallGateway(Protocol):
    def redirect_call(self, call_sid: str, twiml: VoiceResponse) -> None:
        """Replace what a live call is doing with this TwiML."""


def connect_twiml(
    handler_phone: str,
    caller_id: str,
    base_url: str,
    call_id: int,
    handler_id: int,
    voice: tuple[str, str],
) -> VoiceResponse:
    """What the caller's leg does when taken: hear that they are being connected, then
    ring the handler, who hears the whisper first. The Dial's action puts the caller
    back in the queue if the handler does not answer. The handler's phone shows the
    helpline's number (`caller_id`), never the caller's."""
    if not caller_id:
        # Without it Twilio would show the caller's own number on the handler's phone.
        raise GatewayError(
            "TWILIO_CALLER_ID is not set: the handler's phone would show the caller's number."
        )
    response = VoiceResponse()
    response.say("Connecting you to a call handler now.", voice=voice[0], language=voice[1])
    dial = Dial(
        caller_id=caller_id,
        action=urls.after_dial(base_url, call_id, handler_id),
        method="POST",
        timeout=25,
    )
    dial.number(handler_phone, url=urls.whisper(base_url, call_id), method="POST")
    response.append(dial)
    return response


class TwilioGateway:
    def __init__(
        self, account_sid: str, auth_token: str, http_client: HttpClient | None = None
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._http_client = http_client  # None: Twilio's own (requests, to api.twilio.com)

    def redirect_call(self, call_sid: str, twiml: VoiceResponse) -> None:
        if not self._account_sid:
            raise GatewayError(
                "Twilio is not set up (TWILIO_ACCOUNT_SID is missing): the caller cannot be "
                "brought to your phone."
            )
        try:
            # Quiet: Twilio's client would log the request's URL, which holds the CallSid.
            http = quiet_http_client(self._http_client)
            client = Client(self._account_sid, self._auth_token, http_client=http)
            client.calls(call_sid).update(twiml=str(twiml))
        except TwilioException as exc:
            raise GatewayError(
                f"Twilio could not bring the caller to your phone ({type(exc).__name__})."
            ) from None


@dataclass
class FakeGateway:
    """Records every request instead of calling Twilio."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    fail_with: str | None = None

    def redirect_call(self, call_sid: str, twiml: VoiceResponse) -> None:
        if self.fail_with:
            raise GatewayError(self.fail_with)
        self.requests.append((call_sid, str(twiml)))


def make_gateway(settings: Settings) -> CallGateway:
    if settings.call_gateway == "fake":
        return FakeGateway()
    return TwilioGateway(settings.twilio_account_sid, settings.twilio_auth_token)
