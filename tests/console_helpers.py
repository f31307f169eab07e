"""Helpers for console tests: staff accounts, CSRF tokens, signing in, a queued caller."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.models import User
from ivr.staff.accounts import create_user
from tests.conftest import start_in_english

PASSWORD = "correct horse battery"
HANDLER_PHONE = "07912 345678"
HELPLINE = "+448000850000"  # the number the handlers' phones show (TWILIO_CALLER_ID)
# Settings for console tests: handlers are rung through the fake gateway, from HELPLINE.
CONSOLE_SETTINGS = {"call_gateway": "fake", "twilio_caller_id": HELPLINE}
# In a real browser as well, a wrong password need not wait.
BROWSER_SETTINGS = {**CONSOLE_SETTINGS, "login_failure_delay_ms": 0}
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


def sign_in_browser(page, server, name: str, then: str = "/console/queue") -> None:  # type: ignore[no-untyped-def]
    """In a real browser: open `then`, be sent to sign in, sign in, land on `then`."""
    page.goto(server.url + then)
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(then) + "$"))


def queue_a_caller(new_call, keys: tuple[str, ...] = ("1", "1", "2", "1")):  # type: ignore[no-untyped-def]
    """A simulated call through the IVR to the queue: the Met, not urgent,
    anonymous (by default)."""
    call = new_call()
    start_in_english(call)
    twiml = None
    for key in keys:
        twiml = call.press(key)
    assert twiml is not None and twiml.find("Enqueue") is not None
    return call
