"""The door's limits: an unsigned request is refused before its body is parsed, and a
body over the webhooks' small cap is never parsed, signed or not."""

from __future__ import annotations

import pytest
from werkzeug import formparser

from ivr.voice.door import MAX_BODY_BYTES


@pytest.fixture
def parsed_bodies(monkeypatch):  # type: ignore[no-untyped-def]
    """Counts the request bodies Werkzeug parses into a form."""
    calls = []
    real = formparser.FormDataParser.parse

    def parse(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(formparser.FormDataParser, "parse", parse)
    return calls


def _many_parameters(count: int) -> bytes:
    return "&".join(f"p{i}=x" for i in range(count)).encode()


def test_an_unsigned_request_with_100000_parameters_is_refused_unparsed(client, parsed_bodies):
    response = client.post(
        "/voice/step/role?seq=1",
        data=_many_parameters(100_000),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 403
    assert parsed_bodies == []


def test_a_signed_looking_request_over_the_cap_is_refused_unparsed(client, parsed_bodies):
    response = client.post(
        "/voice/incoming",
        data=_many_parameters(100_000),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": "bm90IGEgcmVhbCBzaWduYXR1cmUgYXQgYWxs"},
    )
    assert response.status_code == 413
    assert parsed_bodies == []


def test_just_under_the_cap_is_read_and_checked(client, parsed_bodies):
    body = b"a=" + b"x" * (MAX_BODY_BYTES - 10)
    response = client.post(
        "/voice/incoming",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": "bm90IGEgcmVhbCBzaWduYXR1cmUgYXQgYWxs"},
    )
    assert response.status_code == 403  # read, checked, and not Twilio's
    assert parsed_bodies == [1]


def test_the_console_refuses_a_body_over_a_megabyte(client):
    response = client.post(
        "/console/login",
        data={"username": "x", "password": "y" * (1024 * 1024 + 1)},
    )
    assert response.status_code == 413
