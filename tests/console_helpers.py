"""Helpers for console tests: staff accounts, CSRF tokens, signing in, a queued caller."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy.orm import Session

from ivr.accounts import create_user
from ivr.db import get_engine
from ivr.models import User
from tests.conftest import start_in_english

PASSWORD = "correct horse battery"
HANDLER_PHONE = "07912 345678"
HELPLINE = "+448000850000"  # the number the handlers' phones show (TWILIO_CALLER_ID)
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def add_user(
    app: Flask, name: str, role: str, password: str = PASSWORD, phone: str = HANDLER_PHONE
) -> int:
    with Session(get_engine(app)) as session:
        user = create_user(session, name, role, password, phone)
        session.commit()
        return user.id


def get_user(app: Flask, user_id: int) -> User:
    with Session(get_engine(app), expire_on_commit=False) as session:
        user = session.get(User, user_id)
        assert user is not None
        return user


def csrf_token(client, url: str = "/console/login") -> str:  # type: ignore[no-untyped-def]
    page = client.get(url).get_data(as_text=True)
    found = _TOKEN.search(page)
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def sign_in(client, name: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    token = csrf_token(client)
    return client.post(
        "/console/login",
        data={"username": name, "password": password, "csrf_token": token},
    )


def queue_a_caller(new_call, keys: tuple[str, ...] = ("1", "1", "1", "1", "2", "1")):  # type: ignore[no-untyped-def]
    """A simulated call through the IVR to the queue: Met, officer, bribery, not urgent,
    anonymous (by default)."""
    call = new_call()
    start_in_english(call)
    twiml = None
    for key in keys:
        twiml = call.press(key)
    assert twiml is not None and twiml.find("Enqueue") is not None
    return call
