"""Twilio's HTTP client, quiet: no line of ours holds a CallSid.

Twilio's client logs each request's URL, and the response's headers, at INFO, and a
call's URL holds its CallSid: in the app's log, at the journal's exact time, that line
would match Twilio's record of the call long after the call ended (docs/security.md,
"Anonymity without gaps"). Every client we give Twilio logs here instead, where
nothing below WARNING is kept.
"""

from __future__ import annotations

import logging

from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient

QUIET_LOG = logging.getLogger("ivr.voice.twilio_rest")
QUIET_LOG.setLevel(logging.WARNING)


def quiet_http_client(
    http_client: HttpClient | None = None, timeout: int | None = None
) -> HttpClient:
    """The given client (Twilio's own when None), logging nowhere that is kept."""
    client = http_client or TwilioHttpClient(timeout=timeout)
    client.logger = QUIET_LOG
    return client
