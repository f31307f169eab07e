"""A simulated Twilio: places calls against the webhooks exactly as Twilio does.

It sends Twilio's full parameter set (From, FromCity, … included), signs every
request with RequestValidator, parses the TwiML as XML, and follows Gather
actions and Redirects. Tests use it with Flask's test client; `ivr call` can use
it over HTTP.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from twilio.request_validator import RequestValidator

# post(url, form, headers) -> (status, body text)
Transport = Callable[[str, dict[str, str], dict[str, str]], tuple[int, str]]


def twilio_params(
    call_sid: str,
    from_number: str,
    to_number: str,
    *,
    from_city: str = "",
    call_status: str = "in-progress",
) -> dict[str, str]:
    """Every parameter Twilio sends with a voice webhook."""
    return {
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": call_status,
        "Direction": "inbound",
        "From": from_number,
        "To": to_number,
        "Caller": from_number,
        "Called": to_number,
        "FromCity": from_city,
        "FromState": "",
        "FromZip": "",
        "FromCountry": "GB",
        "CallerCity": from_city,
        "CallerState": "",
        "CallerZip": "",
        "CallerCountry": "GB",
        "ToCity": "",
        "ToState": "",
        "ToZip": "",
        "ToCountry": "GB",
        "CalledCity": "",
        "CalledState": "",
        "CalledZip": "",
        "CalledCountry": "GB",
    }


class TwimlError(Exception):
    """The answer was not valid TwiML (or not 200)."""


def parse_twiml(status: int, body: str) -> ET.Element:
    if status != 200:
        raise TwimlError(f"HTTP {status} instead of TwiML")
    if not body.startswith("<?xml"):
        raise TwimlError("the answer does not start with the XML prolog")
    try:
        # Our own server's TwiML; expat (Python 3.11+) refuses entity expansion bombs.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError as exc:
        raise TwimlError(f"the answer is not XML: {exc}") from None
    if root.tag != "Response":
        raise TwimlError(f"the root element is <{root.tag}>, not <Response>")
    return root


def spoken(element: ET.Element) -> list[str]:
    """Every <Say> in document order, including those inside <Gather>."""
    return [say.text or "" for say in element.iter("Say")]


@dataclass
class SimulatedCall:
    transport: Transport
    auth_token: str
    base_url: str
    to_number: str = "+448000850000"
    from_number: str = "+447911123456"
    from_city: str = "Harrogate"
    call_sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))
    twiml: ET.Element | None = None
    last_url: str = ""
    history: list[ET.Element] = field(default_factory=list)

    def post(
        self,
        path_or_url: str,
        extra: dict[str, str] | None = None,
        *,
        call_status: str = "in-progress",
        idempotency_token: str | None = None,
        sign: bool = True,
    ) -> tuple[int, str]:
        url = urljoin(self.base_url, path_or_url)
        params = twilio_params(
            self.call_sid,
            self.from_number,
            self.to_number,
            from_city=self.from_city,
            call_status=call_status,
        )
        params.update(extra or {})
        headers = {
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": idempotency_token or secrets.token_hex(16),
        }
        if sign:
            headers["X-Twilio-Signature"] = RequestValidator(self.auth_token).compute_signature(
                url, params
            )
        return self.transport(url, params, headers)

    def _follow(self, url: str, extra: dict[str, str] | None = None) -> ET.Element:
        self.last_url = url
        root = parse_twiml(*self.post(url, extra))
        # A document that is only a <Redirect> is followed, as Twilio does.
        children = list(root)
        if len(children) == 1 and children[0].tag == "Redirect":
            return self._follow(urljoin(url, children[0].text or ""))
        self.twiml = root
        self.history.append(root)
        return root

    def start(self) -> ET.Element:
        return self._follow("/voice/incoming")

    def gather(self) -> ET.Element:
        if self.twiml is None or self.twiml.find("Gather") is None:
            raise TwimlError("the call is not waiting for input")
        return self.twiml.find("Gather")  # type: ignore[return-value]

    def press(self, digits: str) -> ET.Element:
        action = self.gather().get("action", "")
        return self._follow(action, {"Digits": digits, "FinishedOnKey": ""})

    def say(self, words: str, confidence: str = "0.91") -> ET.Element:
        action = self.gather().get("action", "")
        return self._follow(action, {"SpeechResult": words, "Confidence": confidence})

    def silence(self) -> ET.Element:
        """No input: Twilio goes on to the verb after <Gather>."""
        assert self.twiml is not None
        redirect = self.twiml.find("Redirect")
        if redirect is None:
            raise TwimlError("nothing follows the Gather: a silent caller would be hung up on")
        return self._follow(redirect.text or "")

    def hang_up(self, duration: int = 60) -> tuple[int, str]:
        return self.post("/voice/status", {"CallDuration": str(duration)}, call_status="completed")

    @property
    def path(self) -> str:
        return urlsplit(self.last_url).path
