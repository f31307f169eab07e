"""The real Twilio gateway builds the REST request Twilio documents (Calls update with
TwiML), and turns Twilio's refusals into one line for the handler."""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response

from ivr.voice.gateway import GatewayError, TwilioGateway, connect_twiml
from tests.voice.fake_twilio_rest import PointedHttpClient, fake_twilio

ACCOUNT = "AC" + "1" * 32
CALL = "CA" + "2" * 32


class RecordingHttp(HttpClient):
    """Stands where Twilio's HTTP client talks to api.twilio.com."""

    def __init__(self, status: int = 200) -> None:
        super().__init__(logger=logging.getLogger("test.twilio"), is_async=False)
        self.status = status
        self.sent: list[dict] = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, **_kw):
        self.sent.append({"method": method, "uri": uri, "data": data, "auth": auth})
        if self.status != 200:
            body = {"code": 21220, "message": "Call is not in-progress", "status": self.status}
            return Response(self.status, json.dumps(body))
        return Response(200, json.dumps({"sid": CALL, "account_sid": ACCOUNT, "status": "queued"}))


def _twiml():
    return connect_twiml(
        "+447912345678", "+448000850000", "https://helpline.example", 7, 3, ("Polly.Amy", "en-GB")
    )


def test_taking_updates_the_live_call_with_twiml():
    http = RecordingHttp()
    TwilioGateway(ACCOUNT, "token", http_client=http).redirect_call(CALL, _twiml())
    (sent,) = http.sent
    assert sent["method"] == "POST"
    assert sent["uri"] == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL}.json"
    assert sent["auth"] == (ACCOUNT, "token")
    root = ET.fromstring(sent["data"]["Twiml"])  # noqa: S314
    dial = root.find("Dial")
    assert dial.get("callerId") == "+448000850000"
    assert (
        dial.get("action") == "https://helpline.example/voice/handler/after-dial?call=7&handler=3"
    )
    number = dial.find("Number")
    assert number.text == "+447912345678"
    assert number.get("url") == "https://helpline.example/voice/handler/whisper?call=7"


def test_a_refusal_is_one_line_for_the_handler():
    gateway = TwilioGateway(ACCOUNT, "token", http_client=RecordingHttp(status=400))
    with pytest.raises(GatewayError, match="Twilio could not bring the caller"):
        gateway.redirect_call(CALL, _twiml())


def test_without_an_account_sid_it_says_so():
    with pytest.raises(GatewayError, match="TWILIO_ACCOUNT_SID is missing"):
        TwilioGateway("", "token").redirect_call(CALL, _twiml())


def test_no_caller_id_no_twiml():
    with pytest.raises(GatewayError, match="TWILIO_CALLER_ID"):
        connect_twiml("+447912345678", "", "https://h.example", 1, 3, ("Polly.Amy", "en-GB"))


def test_taking_a_call_logs_no_call_sid(caplog):
    # Twilio's HTTP client logs each request's URL at INFO, and a call's URL holds its
    # CallSid: a line at the journal's exact time that Twilio's record of the call matches.
    caplog.set_level(logging.INFO)  # the app's log level (ivr/__init__.py)
    with fake_twilio(ACCOUNT) as twilio:
        twilio.calls[CALL] = "in-progress"
        http = PointedHttpClient(twilio.base_url)
        TwilioGateway(ACCOUNT, "token", http_client=http).redirect_call(CALL, _twiml())
    assert twilio.requests == [("POST", f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL}.json")]
    assert CALL not in caplog.text
