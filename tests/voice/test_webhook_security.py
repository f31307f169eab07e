"""Only Twilio reaches the webhooks: every one checks X-Twilio-Signature."""

from __future__ import annotations

import logging

import pytest
from twilio.request_validator import RequestValidator

from ivr import create_app
from ivr.core.db import get_engine
from ivr.sim.twilio import SimulatedCall, flask_transport, twilio_params
from tests.conftest import AUTH_TOKEN, start_in_english

WEBHOOKS = [
    "/voice/incoming",
    "/voice/step/force?seq=1",
    "/voice/wait",
    "/voice/queue-choice",
    "/voice/queue-left",
    "/voice/status",
    "/voice/fallback",
]


@pytest.mark.parametrize("path", WEBHOOKS)
def test_unsigned_request_is_refused_and_logged_without_parameters(client, caplog, path):
    caplog.set_level(logging.INFO)
    params = twilio_params("CA" + "1" * 32, "+447911123456", "+448000850000", from_city="Harrogate")
    response = client.post(path, data=params)
    assert response.status_code == 403
    assert "X-Twilio-Signature" in caplog.text
    assert "7911" not in caplog.text and "Harrogate" not in caplog.text


@pytest.mark.parametrize("path", WEBHOOKS)
def test_wrong_signature_is_refused(client, path):
    params = twilio_params("CA" + "1" * 32, "+447911123456", "+448000850000")
    signature = RequestValidator("not-our-token").compute_signature(
        f"http://localhost{path}", params
    )
    response = client.post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_tampered_parameters_are_refused(client):
    params = twilio_params("CA" + "1" * 32, "+447911123456", "+448000850000")
    url = "http://localhost/voice/step/force?seq=1"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, {**params, "Digits": "1"})
    response = client.post(
        "/voice/step/force?seq=1",
        data={**params, "Digits": "2"},
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 403


def test_signature_for_another_url_is_refused(client):
    params = twilio_params("CA" + "1" * 32, "+447911123456", "+448000850000")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        "http://localhost/voice/status", params
    )
    response = client.post(
        "/voice/incoming", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403


def test_signed_request_is_answered(new_call):
    call = new_call()
    assert start_in_english(call).find("Gather") is not None


def test_behind_a_tls_proxy_the_public_url_is_what_twilio_signed(settings_overrides):
    app = create_app({**settings_overrides, "public_base_url": "https://helpline.example.org"})
    try:
        client = app.test_client()
        public = SimulatedCall(
            transport=flask_transport(client),
            auth_token=AUTH_TOKEN,
            base_url="https://helpline.example.org/",
        )
        assert start_in_english(public).find("Gather") is not None
        assert public.press("9").find("Gather") is not None  # query string signed too
        local = SimulatedCall(
            transport=flask_transport(client),
            auth_token=AUTH_TOKEN,
            base_url="http://localhost/",
        )
        assert local.post("/voice/incoming")[0] == 403
    finally:
        get_engine(app).dispose()


def test_trusted_forwarded_headers_rebuild_the_public_url(settings_overrides):
    app = create_app({**settings_overrides, "trusted_proxies": 1})
    try:
        client = app.test_client()

        def via_proxy(url, form, headers):  # type: ignore[no-untyped-def]
            path = url.replace("https://helpline.example.org", "")
            response = client.post(
                path,
                data=form,
                headers={
                    **headers,
                    "X-Forwarded-Proto": "https",
                    "X-Forwarded-Host": "helpline.example.org",
                    "X-Forwarded-For": "203.0.113.9",
                },
            )
            return response.status_code, response.get_data(as_text=True)

        call = SimulatedCall(
            transport=via_proxy, auth_token=AUTH_TOKEN, base_url="https://helpline.example.org/"
        )
        assert start_in_english(call).find("Gather") is not None
    finally:
        get_engine(app).dispose()


def test_forwarded_headers_are_ignored_unless_trusted(client):
    """Without trusted_proxies an attacker cannot choose the URL the signature is checked on."""
    params = twilio_params("CA" + "1" * 32, "+447911123456", "+448000850000")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        "https://evil.example/voice/incoming", params
    )
    response = client.post(
        "/voice/incoming",
        data=params,
        headers={
            "X-Twilio-Signature": signature,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "evil.example",
        },
    )
    assert response.status_code == 403


def test_signature_check_off_only_in_development(settings_overrides):
    from ivr.core.settings import SettingsError

    with pytest.raises(SettingsError, match="check_signatures"):
        create_app({**settings_overrides, "check_signatures": False})
    app = create_app(
        {**settings_overrides, "check_signatures": False, "environment": "development"}
    )
    try:
        params = twilio_params("CA" + "2" * 32, "+447911123456", "+448000850000")
        assert app.test_client().post("/voice/incoming", data=params).status_code == 200
    finally:
        get_engine(app).dispose()


def test_a_url_with_escapes_is_checked_as_twilio_sent_it(client):
    # Twilio signs the URL as it requested it, escapes and all; Werkzeug's request.url
    # decodes them (an IRI), which would refuse a genuine request.
    params = twilio_params("CA" + "2" * 32, "+447911123456", "+448000850000")
    path = "/voice/step/caf%C3%A9?seq=1"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"http://localhost{path}", params)
    response = client.post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    assert response.mimetype == "text/xml"


def test_webhooks_neither_read_nor_set_a_session_cookie(client):
    # A cookie a webhook has no use for: none is opened, and none is ever set.
    client.set_cookie("session", "not-a-signed-session", domain="localhost")
    params = twilio_params("CA" + "3" * 32, "+447911123456", "+448000850000")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        "http://localhost/voice/incoming", params
    )
    response = client.post(
        "/voice/incoming", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200 and b"<Gather" in response.data
    assert "Set-Cookie" not in response.headers
