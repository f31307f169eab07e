"""A simulated Twilio: places calls against the webhooks exactly as Twilio does.

It sends Twilio's full parameter set (From, FromCity, … included), signs every
request with RequestValidator, parses the TwiML as XML (refusing what Twilio
would refuse: an unknown verb, a voice speaking the wrong language), and follows
Gather actions, Redirects and the queue's wait URL. Keys pressed at a <Gather> are
read as Twilio reads them in one place (`press_keys`), and every TwiML document is
fetched through one `SimulatedCall.follow`: the tests, `ivr call` (ivr/sim/ring.py)
and the console's test call all use these two. Tests use it with Flask's test
client (`flask_transport`); `ivr call` uses it in-process or over HTTP
(`http_transport`). It never imports the app: it speaks HTTP or WSGI, as Twilio does.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urljoin, urlsplit
from urllib.request import Request, urlopen

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

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.status = status


class LineDown(Exception):
    """The server could not be reached at all (refused, timed out, no such host)."""


def flask_transport(client: Any) -> Transport:
    """Posts through a Flask test client: the app in this process, no server."""

    def post(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        response = client.post(url, data=form, headers=headers)
        return response.status_code, response.get_data(as_text=True)

    return post


def http_transport(timeout: float = 15.0) -> Transport:
    """Posts over HTTP to a running server, as Twilio does (form-encoded, 15 s at most)."""

    def post(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        if not url.startswith(("http://", "https://")):
            raise LineDown(f"{url} is not an http:// or https:// URL")
        request = Request(  # noqa: S310 (the scheme is checked just above)
            url,
            data=urlencode(form).encode(),
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        try:
            with urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, response.read().decode("utf-8", "replace")
        except HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")
        except (URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise LineDown(f"cannot reach {url}: {reason}") from None

    return post


# Verbs Twilio knows, what may be nested in <Gather>, and the language each
# <Say> voice speaks: Twilio fails a <Say> whose voice and language disagree.
VERBS = {
    "Say", "Play", "Pause", "Gather", "Redirect", "Enqueue", "Leave", "Hangup",
    "Dial", "Reject", "Record", "Sms", "Connect", "Start", "Stop", "Refer", "Pay",
}  # fmt: skip
GATHER_CHILDREN = {"Say", "Play", "Pause"}
VOICE_LANGUAGES = {
    "Polly.Amy": "en-GB", "Polly.Brian": "en-GB", "Polly.Emma": "en-GB",
    "Polly.Arthur": "en-GB", "Polly.Gwyneth": "cy-GB", "Polly.Geraint": "en-GB-WLS",
}  # fmt: skip


def check_twiml(root: ET.Element) -> None:
    """Refuse what Twilio would refuse in the verbs we use (error 12200 and friends)."""
    for verb in root:
        if verb.tag not in VERBS:
            raise TwimlError(f"<{verb.tag}> is not a TwiML verb")
        if verb.tag == "Gather":
            for child in verb:
                if child.tag not in GATHER_CHILDREN:
                    raise TwimlError(f"<{child.tag}> cannot be nested in <Gather>")
        if verb.tag in ("Redirect", "Enqueue") and not (verb.text or "").strip():
            raise TwimlError(f"<{verb.tag}> has no URL or queue name")
    for say in root.iter("Say"):
        voice, language = say.get("voice", ""), say.get("language", "")
        speaks = VOICE_LANGUAGES.get(voice)
        if speaks and language and language != speaks:
            raise TwimlError(f"<Say voice={voice!r}> speaks {speaks}, not {language!r}")
        if not (say.text or "").strip():
            raise TwimlError("<Say> with nothing to say")


def parse_twiml(status: int, body: str) -> ET.Element:
    if status != 200:
        raise TwimlError(f"HTTP {status} instead of TwiML", status)
    if not body.startswith("<?xml"):
        raise TwimlError("the answer does not start with the XML prolog")
    try:
        # Our own server's TwiML; expat (Python 3.11+) refuses entity expansion bombs.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError as exc:
        raise TwimlError(f"the answer is not XML: {exc}") from None
    if root.tag != "Response":
        raise TwimlError(f"the root element is <{root.tag}>, not <Response>")
    check_twiml(root)
    return root


def spoken(element: ET.Element) -> list[str]:
    """Every <Say> in document order, including those inside <Gather>."""
    return [say.text or "" for say in element.iter("Say")]


@dataclass(frozen=True)
class Heard:
    """One <Say>: the words, and the voice and language they are spoken in."""

    text: str
    voice: str
    language: str


def heard(element: ET.Element) -> list[Heard]:
    return [
        Heard(say.text or "", say.get("voice", ""), say.get("language", ""))
        for say in element.iter("Say")
    ]


@dataclass(frozen=True)
class Keys:
    """Keys pressed at a <Gather>, as Twilio reads them."""

    digits: str  # sent as Digits
    finished_on: str  # sent as FinishedOnKey: the finishOnKey that ended the entry, or ""
    typed_ahead: str  # keys past this <Gather>: the next one hears them

    @property
    def params(self) -> dict[str, str]:
        return {"Digits": self.digits, "FinishedOnKey": self.finished_on}


def press_keys(gather: Mapping[str, str], keys: str) -> Keys:
    """What Twilio sends for `keys` pressed at a <Gather> with these attributes: at most
    numDigits keys; a finishOnKey after the first key ends the entry (and is not part
    of Digits). What follows was typed ahead into the next <Gather>."""
    num_digits = int(gather.get("numDigits") or 0)
    finish_key = gather.get("finishOnKey", "#")
    if num_digits and len(keys) > num_digits:
        return Keys(keys[:num_digits], "", keys[num_digits:])
    if finish_key and finish_key in keys[1:]:
        digits, _, rest = keys.partition(finish_key)
        return Keys(digits, finish_key, rest)
    return Keys(keys, "", "")


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
    # What the number is pointed at in Twilio's console (`ivr serve` prints them; the app's
    # own spelling is ivr/voice/urls.py, and tests/sim/test_twilio.py holds the two together).
    voice_url: str = "/voice/incoming"
    status_callback: str = "/voice/status"

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

    def follow(self, url: str, extra: dict[str, str] | None = None) -> ET.Element:
        """Request a TwiML document (a relative URL is read against the last one, as
        Twilio reads a Gather's action or a Redirect) and make it the call's current one.
        A document that is only a <Redirect> is followed, as Twilio does."""
        url = urljoin(self.last_url or self.base_url, url)
        self.last_url = url
        root = parse_twiml(*self.post(url, extra))
        children = list(root)
        if len(children) == 1 and children[0].tag == "Redirect":
            return self.follow(children[0].text or "")
        self.twiml = root
        self.history.append(root)
        return root

    def start(self) -> ET.Element:
        return self.follow(self.voice_url)

    def gather(self) -> ET.Element:
        if self.twiml is None or self.twiml.find("Gather") is None:
            raise TwimlError("the call is not waiting for input")
        return self.twiml.find("Gather")  # type: ignore[return-value]

    def press_once(self, keys: str) -> tuple[ET.Element, Keys]:
        """Press keys at the current <Gather>; the keys it did not take are in the result."""
        gather = self.gather()
        pressed = press_keys(gather.attrib, keys)
        return self.follow(gather.get("action") or self.last_url, pressed.params), pressed

    def press(self, keys: str) -> ET.Element:
        """Press keys; those typed ahead go to the next <Gather>, as on a phone."""
        document, pressed = self.press_once(keys)
        while pressed.typed_ahead and document.find("Gather") is not None:
            document, pressed = self.press_once(pressed.typed_ahead)
        return document

    def say(self, words: str, confidence: str = "0.91") -> ET.Element:
        gather = self.gather()
        extra = {"SpeechResult": words, "Confidence": confidence}
        return self.follow(gather.get("action") or self.last_url, extra)

    def silence(self) -> ET.Element:
        """No input: Twilio goes on to the verb after <Gather>."""
        assert self.twiml is not None
        redirect = self.twiml.find("Redirect")
        if redirect is None:
            raise TwimlError("nothing follows the Gather: a silent caller would be hung up on")
        return self.follow(redirect.text or "")

    def wait_in_queue(self, position: int = 1, queue_time: int = 0) -> ET.Element:
        """Fetch the <Enqueue> wait URL once, with what Twilio sends about the queue."""
        enqueue = self.twiml.find("Enqueue") if self.twiml is not None else None
        if enqueue is None:
            raise TwimlError("the call is not being put in a queue")
        extra = {
            "QueuePosition": str(position),
            "CurrentQueueSize": str(position),
            "QueueTime": str(queue_time),
            "AvgQueueTime": "0",
            "QueueSid": "QU" + "0" * 32,
        }
        url = urljoin(self.last_url, enqueue.get("waitUrl", ""))
        return parse_twiml(*self.post(url, extra))

    def leave_queue(self, result: str = "hangup", queue_time: int = 0) -> ET.Element:
        """The <Enqueue> action, requested when the caller leaves the queue."""
        enqueue = self.twiml.find("Enqueue") if self.twiml is not None else None
        if enqueue is None:
            raise TwimlError("the call is not in a queue")
        url = urljoin(self.last_url, enqueue.get("action", ""))
        extra = {"QueueResult": result, "QueueTime": str(queue_time), "QueueSid": "QU" + "0" * 32}
        return parse_twiml(*self.post(url, extra))

    def hang_up(self, duration: int = 60) -> tuple[int, str]:
        extra = {"CallDuration": str(duration)}
        return self.post(self.status_callback, extra, call_status="completed")

    @property
    def path(self) -> str:
        return urlsplit(self.last_url).path
