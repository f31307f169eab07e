"""The signature check: the one-computation fast path and RequestValidator's fallback."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from ivr.core.runtime import get_core
from ivr.sim.twilio import twilio_params
from tests.conftest import AUTH_TOKEN


def _post(client, signed_url: str, token: str = ""):  # type: ignore[no-untyped-def]
    token = token or get_core(client.application).settings.twilio_auth_token
    params = twilio_params("CA" + "1" * 32, "+447911123456", "+448000850000")
    signature = RequestValidator(token).compute_signature(signed_url, params)
    return client.post("/voice/incoming", data=params, headers={"X-Twilio-Signature": signature})


def test_the_url_as_received_is_accepted(client):
    response = _post(client, "http://localhost/voice/incoming")
    assert response.status_code == 200
    assert b"<Gather" in response.data


def test_the_url_with_its_default_port_is_accepted_too(client):
    # Twilio sometimes signs with the port; RequestValidator.validate() knows both forms.
    response = _post(client, "http://localhost:80/voice/incoming")
    assert response.status_code == 200
    assert b"<Gather" in response.data


def test_a_signature_with_another_token_is_refused(client):
    response = _post(client, "http://localhost/voice/incoming", token="x" * 32)
    assert response.status_code == 403


def test_a_signature_for_another_url_is_refused(client):
    response = _post(client, "http://localhost/voice/status")
    assert response.status_code == 403


def test_a_non_ascii_signature_is_refused_not_an_error(client):
    params = twilio_params("CA" + "2" * 32, "+447911123456", "+448000850000")
    response = client.post("/voice/incoming", data=params, headers={"X-Twilio-Signature": "é" * 28})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/voice/step/role%21?seq=1",  # Twilio escapes "!", which needs no escape
        "/voice/step/it%27s?seq=1",  # and "'"
        "/voice/step/caf%c3%b4?seq=1",  # an escape in lower case
        "/voice/step/caf%C3%B4?seq=1&x=a%2Fb",
    ],
)
def test_the_url_is_checked_exactly_as_it_arrived(client, path):
    params = twilio_params("CA" + "4" * 32, "+447911123456", "+448000850000")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"http://localhost{path}", params)
    response = client.post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    assert response.mimetype == "text/xml"


def test_the_same_url_escaped_otherwise_is_refused(client):
    # What arrived is what is checked: a signature for a differently escaped URL fails.
    params = twilio_params("CA" + "5" * 32, "+447911123456", "+448000850000")
    signed = "http://localhost/voice/step/role!?seq=1"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(signed, params)
    response = client.post(
        "/voice/step/role%21?seq=1", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403
