"""Sign a bench's test client in to the console, both steps, as staff do in production."""

from __future__ import annotations

import re

import pyotp
from flask import Flask
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.core.runtime import get_core
from ivr.staff import two_factor
from ivr.staff.accounts import find_user

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _token(client, url: str) -> str:  # type: ignore[no-untyped-def]
    found = _TOKEN.search(client.get(url).get_data(as_text=True))
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def sign_in(app: Flask, client, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """Password, then a code from a fresh authenticator secret (set up here if need be)."""
    secret = pyotp.random_base32()
    with Session(get_engine(app)) as session:
        user = find_user(session, username)
        assert user is not None, f"no user called {username!r}"
        two_factor.enrol(session, user, secret, get_core(app).cipher)
        session.commit()
    first = client.post(
        "/console/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": _token(client, "/console/login"),
        },
    )
    assert first.status_code == 302, first.status_code
    if "/console/login/code" in first.location:
        step = "/console/login/code"
        second = client.post(
            step, data={"code": pyotp.TOTP(secret).now(), "csrf_token": _token(client, step)}
        )
        assert second.status_code == 302, second.status_code
