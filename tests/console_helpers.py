"""Helpers for console tests: staff accounts, CSRF tokens, signing in, a queued caller.

Staff sign in with two steps (tests run with production settings): `add_user` enrols the
account with a fresh authenticator secret, and `sign_in` / `sign_in_browser` type the
password and then a code made from that secret (`code_for`), as a phone app would.
"""

from __future__ import annotations

import re
import time

import pyotp
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.core.runtime import get_core
from ivr.models import User
from ivr.staff import two_factor
from ivr.staff.accounts import create_user, find_user
from tests.conftest import walk

PASSWORD = "correct horse battery"
HANDLER_PHONE = "07912 345678"
HELPLINE = "+448000850000"  # the number the handlers' phones show (TWILIO_CALLER_ID)
# Settings for console tests: handlers are rung through the fake gateway, from HELPLINE.
CONSOLE_SETTINGS = {"call_gateway": "fake", "twilio_caller_id": HELPLINE}
# In a real browser as well, a wrong password need not wait.
BROWSER_SETTINGS = {**CONSOLE_SETTINGS, "login_failure_delay_ms": 0}
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def add_user(
    app: Flask,
    name: str,
    role: str,
    password: str = PASSWORD,
    phone: str = HANDLER_PHONE,
    enrolled: bool = True,
) -> int:
    """A staff account; `enrolled` (the default) with its second step set up already."""
    with Session(get_engine(app)) as session:
        user = create_user(session, name, role, password, phone)
        if enrolled:
            two_factor.enrol(session, user, pyotp.random_base32(), get_core(app).cipher)
        session.commit()
        return user.id


def code_for(app: Flask, name: str) -> str:
    """What the user's authenticator app shows: a code for a 30-second step not used yet,
    this step's or the next (the server accepts one step either side of its clock, so
    either stays good for 30 s or more on a busy machine). Past those two in one window,
    a fresh recovery code (the helper makes new ones), so tests never wait."""
    with Session(get_engine(app)) as session:
        user = find_user(session, name)
        assert user is not None, f"no user called {name!r}"
        secret = two_factor.secret_of(user, get_core(app).cipher)
        assert secret is not None, f"{name} has no authenticator secret"
        totp = pyotp.TOTP(secret)
        now = totp.timecode(time.time())
        step = max(now, (user.totp_last_step or 0) + 1)
        if step <= now + 1:
            return totp.generate_otp(step)
        code = two_factor.new_recovery_codes(session, user)[0]
        session.commit()
        return code


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
    """Both steps. The answer is the last step's: 302 when signed in, 200 with the
    reason when refused; for an account not yet enrolled, it enrols (and the answer is
    the page of recovery codes, 200)."""
    token = csrf_token(client)
    response = client.post(
        "/console/login",
        data={"username": name, "password": password, "csrf_token": token},
    )
    if response.status_code != 302 or "/console/login/" not in response.location:
        return response
    step = response.location
    app = client.application
    token = csrf_token(client, step)  # for enrolment, this GET makes the pending secret
    return client.post(step, data={"code": code_for(app, name), "csrf_token": token})


def signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    """Whether this client's session is signed in (every role may see its own account)."""
    return client.get("/console/account").status_code == 200


def sign_in_browser(page, server, name: str, then: str = "/console/queue") -> None:  # type: ignore[no-untyped-def]
    """In a real browser: open `then`, be sent to sign in, sign in, land on `then`."""
    page.goto(server.url + then)
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    second_step_browser(page, server.app, name)
    expect(page).to_have_url(re.compile(re.escape(then) + "$"))


def second_step_browser(page, app: Flask, name: str) -> None:  # type: ignore[no-untyped-def]
    """After the password: type the app's code (or, at enrolment, set the app up first)."""
    expect(page).to_have_url(re.compile(r"/console/login/(code|enrol)"))
    page.get_by_label("Code").fill(code_for(app, name))
    if "/login/enrol" in page.url:
        page.get_by_role("button", name="Turn on and sign in").click()
        page.get_by_role("link", name="I have kept them: continue").click()
    else:
        page.get_by_role("button", name="Continue").click()


def queue_a_caller(new_call, **answers):  # type: ignore[no-untyped-def]
    """A simulated call through the IVR to the queue with `answers` (tests.conftest.walk:
    by default an officer of the Met, bribery, nobody at risk, anonymous)."""
    call = new_call()
    twiml = walk(call, **answers)
    assert twiml is not None and twiml.find("Enqueue") is not None
    return call
