"""Test calls: simulated calls placed from the console, marked as tests by the server alone.

A test call's CallSid is minted here: "CA", a random 64-bit nonce and an HMAC of
that nonce under the app's secret key (32 hex digits in all, Twilio's format).
The webhooks mark a call as a test (`Call.is_test`) when its CallSid carries a
valid mark. Nothing a caller does can set it: Twilio assigns every real CallSid
(a random one passes the check with odds of 2^-64), and even someone holding
the Twilio auth token cannot mint a marked one without the secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

# A number from Ofcom's range kept for drama (020 7946 0000-0999): never a real
# person's phone, so a test call carries no one's number anywhere. A valid UK
# number, so "use the number I am calling from" can be tried too.
TEST_FROM = "+442079460000"
_DOMAIN = b"helpline test call\x00"


def _mark(secret_key: str, nonce: str) -> str:
    return hmac.new(secret_key.encode(), _DOMAIN + nonce.encode(), hashlib.sha256).hexdigest()[:16]


def mint_call_sid(secret_key: str) -> str:
    """A CallSid in Twilio's format that the webhooks recognise as a test call."""
    nonce = secrets.token_hex(8)
    return "CA" + nonce + _mark(secret_key, nonce)


def is_test_call_sid(secret_key: str, call_sid: str) -> bool:
    if len(call_sid) != 34 or not call_sid.startswith("CA"):
        return False
    nonce, mark = call_sid[2:18], call_sid[18:]
    return hmac.compare_digest(mark, _mark(secret_key, nonce))
