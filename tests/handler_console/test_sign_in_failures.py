"""One answer for every failed sign-in, and a lock that parallel guessing cannot outrun.

- Unknown, wrong, locked and disabled (with the right password) get the same page and
  do the same work: one argon2id check, the same SQL statements, no sleep.
- 24 wrong guesses sent at once against a limit of 5 get at most 5 password checks, over
  real HTTP (a threaded server) and straight against the database from 24 threads, on
  SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
from argon2 import PasswordHasher
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from ivr.core.db import get_engine
from ivr.models import AuditEntry, User
from ivr.staff.accounts import set_active
from tests.console_helpers import PASSWORD, add_user, csrf_token, get_user

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def settings_overrides(settings_overrides):
    # The production default pause after a failure (kept in the database, not slept).
    return {**settings_overrides, "login_failure_delay_ms": 400, "login_max_failures": 5}


@pytest.fixture
def hash_checks(monkeypatch):
    """Every argon2id verification made, by the hash it was made against."""
    checked: list[str] = []
    real = PasswordHasher.verify
    lock = threading.Lock()

    def counting(self, hash, password):  # noqa: A002 (argon2's name)
        with lock:
            checked.append(hash if isinstance(hash, str) else hash.decode())
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return checked


def _statements(app):
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement.split()[0].upper())

    event.listen(get_engine(app), "before_cursor_execute", note)
    return seen, lambda: event.remove(get_engine(app), "before_cursor_execute", note)


def _page_without_token(response) -> str:
    return _TOKEN.sub("TOKEN", response.get_data(as_text=True))


def test_every_failed_sign_in_gets_the_same_answer_for_the_same_work(
    app, client, hash_checks, monkeypatch
):
    real_id = add_user(app, "hana", "handler")
    locked_id = add_user(app, "lena", "handler")
    disabled_id = add_user(app, "dora", "handler")
    with Session(get_engine(app)) as session:
        locked = session.get(User, locked_id)
        locked.failed_logins = 0
        locked.locked_until = datetime(2999, 1, 1, tzinfo=UTC)
        set_active(session, session.get(User, disabled_id), False)
        session.commit()
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", lambda seconds: slept.append(seconds))
    cases = {
        "unknown": ("nobody", PASSWORD),
        "wrong password": ("hana", "not the password at all"),
        "locked, right password": ("lena", PASSWORD),
        "disabled, right password": ("dora", PASSWORD),
    }
    pages, work = {}, {}
    for case, (name, password) in cases.items():
        fresh = app.test_client()
        token = csrf_token(fresh)
        hash_checks.clear()
        statements, stop = _statements(app)
        response = fresh.post(
            "/console/login", data={"username": name, "password": password, "csrf_token": token}
        )
        stop()
        assert response.status_code == 200, case
        pages[case] = _page_without_token(response).replace(f'value="{name}"', 'value="NAME"')
        work[case] = (len(hash_checks), statements)
        assert fresh.get("/console/queue").status_code == 302, case
    assert len(set(pages.values())) == 1, "the answers differ"
    assert "Wrong username or password, or the account is locked or disabled." in pages["unknown"]
    assert len(set(map(repr, work.values()))) == 1, work
    assert work["unknown"][0] == 1  # one argon2id check each, a real one's cost
    assert slept == []  # the pause after a failure holds no worker
    # The pause is in the database: the wrong password's account takes no try for a moment.
    assert get_user(app, real_id).locked_until is not None


def test_the_stand_in_hash_costs_what_a_real_one_costs(app):
    from ivr.staff import accounts

    user_id = add_user(app, "hana", "handler")
    real = get_user(app, user_id).password_hash
    assert accounts._DUMMY_HASH.split("$")[:4] == real.split("$")[:4]  # argon2id, v, m/t/p


@pytest.fixture
def slow_app(settings_overrides):
    """A minute's pause after a failure, so a busy machine cannot outlast it."""
    from ivr import create_app

    app = create_app({**settings_overrides, "login_failure_delay_ms": 60_000})
    yield app
    get_engine(app).dispose()


def test_a_try_during_the_pause_is_refused_unchecked(slow_app, hash_checks):
    app, client = slow_app, slow_app.test_client()
    user_id = add_user(app, "hana", "handler")
    real = get_user(app, user_id).password_hash
    client.post(
        "/console/login",
        data={"username": "hana", "password": "wrong guess!", "csrf_token": csrf_token(client)},
    )
    hash_checks.clear()
    # At once, with the right password: refused like any failure, the password not checked.
    response = client.post(
        "/console/login",
        data={"username": "hana", "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 200 and real not in hash_checks and len(hash_checks) == 1
    assert get_user(app, user_id).failed_logins == 1


def test_parallel_guesses_over_http_get_no_more_checks_than_the_limit(live_server, hash_checks):
    app = live_server.app
    user_id = add_user(app, "hana", "handler")
    real = get_user(app, user_id).password_hash
    guessers = []
    for _ in range(24):
        # The session cookie is Secure (production): sent by hand over this plain HTTP.
        page = requests.get(live_server.url + "/console/login", timeout=10)
        cookie = page.headers["Set-Cookie"].split(";")[0]
        guessers.append((cookie, _TOKEN.search(page.text).group(1)))  # type: ignore[union-attr]
    start = threading.Barrier(len(guessers))

    def guess(n: int) -> int:
        cookie, token = guessers[n]
        start.wait()
        response = requests.post(
            live_server.url + "/console/login",
            headers={"Cookie": cookie},
            data={"username": "hana", "password": f"guess number {n}", "csrf_token": token},
            timeout=60,
            allow_redirects=False,
        )
        return response.status_code

    with ThreadPoolExecutor(len(guessers)) as pool:
        answers = list(pool.map(guess, range(len(guessers))))
    assert answers == [200] * len(guessers)
    checked = sum(1 for h in hash_checks if h == real)
    assert checked <= 5, f"{checked} guesses were checked against a limit of 5"


def test_parallel_guesses_in_the_database_are_counted_atomically(app, hash_checks):
    """24 threads, each its own connection, straight at the service: the count holds."""
    from ivr.staff import signing_in

    user_id = add_user(app, "hana", "handler")
    real = get_user(app, user_id).password_hash
    sessions = sessionmaker(get_engine(app), expire_on_commit=False)
    start = threading.Barrier(24)

    def guess(n: int) -> bool:
        with sessions() as session:
            start.wait()
            user = signing_in.check_password(
                session,
                "hana",
                f"guess number {n}",
                max_failures=5,
                lock_minutes=15,
                backoff_ms=0,
            )
            return user is not None

    with ThreadPoolExecutor(24) as pool:
        assert not any(pool.map(guess, range(24)))
    assert sum(1 for h in hash_checks if h == real) == 5
    user = get_user(app, user_id)
    assert user.locked_until is not None and user.failed_logins == 0
    with Session(get_engine(app)) as session:
        locks = session.query(AuditEntry).filter(AuditEntry.action == "lock").count()
    assert locks == 1
