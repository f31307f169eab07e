"""More than one machine: two app servers (two `ivr serve`, as two hosts would run them)
behind the shipped nginx site balancing round-robin, on one PostgreSQL, with two
`ivr deliver` workers. PostgreSQL is the only shared state: whatever must hold across
servers (a call's progress, the queue, sign-in sessions and throttling, deliveries)
lives there or in what the servers share by configuration (the secret key).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from ivr import create_app
from ivr.core.db import get_engine, normalise_url
from ivr.core.forces import ForceCatalogue
from ivr.core.migrate import upgrade
from ivr.core.settings import PROJECT_ROOT
from ivr.models import Call, Dissemination, User
from ivr.records.review import approve
from ivr.sim.twilio import SimulatedCall
from ivr.sim.walks import Answers, keys_to_queue
from tests.conftest import AUTH_TOKEN, _empty_postgres, start_in_english
from tests.console_helpers import PASSWORD, add_user, code_for, sign_in_browser
from tests.live_server import free_port
from tests.production.conftest import production_env
from tests.production.stack import IVR, Proxy, ivr_serve, nginx, nginx_available
from tests.records import conftest as records_fixtures
from tests.records.conftest import SECRET, ForceServer, make_report, make_user, routes_to

pytestmark = pytest.mark.postgres

# A force's endpoint on 127.0.0.1 (the `force_server` fixture of the delivery tests).
force_server = records_fixtures.force_server

# An officer of Kent, bribery, someone at risk now, anonymous (after English).
KEYS = keys_to_queue(Answers(force="kent", urgent=True))[1:]


@dataclass
class TwoServers:
    app: Flask  # the same app in this process (not serving): accounts, services
    proxy: Proxy
    server_urls: tuple[str, str]  # each gunicorn, http://127.0.0.1:PORT
    logs: tuple[Path, Path]  # each gunicorn's output (its access log)
    database_url: str
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.proxy.url

    def call(self, via: str | None = None) -> SimulatedCall:
        """A call signed for the public https URL, posted through nginx, or straight to
        one server (`via`), as a load balancer might send it."""
        cert = str(self.proxy.cert)

        def post(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
            if via is not None:
                url = url.replace(self.url, via)
            response = requests.post(url, data=form, headers=headers, timeout=15, verify=cert)
            return response.status_code, response.text

        return SimulatedCall(transport=post, auth_token=AUTH_TOKEN, base_url=self.url + "/")

    def requests_seen(self, path: str) -> tuple[int, int]:
        """How many requests for `path` each server's access log has."""
        return tuple(log.read_text().count(path) for log in self.logs)  # type: ignore[return-value]


@pytest.fixture
def shared_database(postgres_database: str) -> str:
    _empty_postgres(postgres_database)
    upgrade(postgres_database)
    return postgres_database


@pytest.fixture
def two_servers(
    tmp_path: Path, shared_database: str, force_server: ForceServer
) -> Iterator[TwoServers]:
    if not nginx_available():
        pytest.skip("nginx is not installed (`make test` installs it)")
    https_port = free_port()
    instance = tmp_path / "instance"
    instance.mkdir()
    env = production_env(shared_database, instance, f"https://127.0.0.1:{https_port}")
    env["IVR_ROUTE_KENT_URL"] = force_server.url
    env["IVR_ROUTE_KENT_SECRET"] = SECRET
    # To count which server took each step: gunicorn's access log, off in production.
    env["GUNICORN_CMD_ARGS"] = "--access-logfile -"
    logs = (tmp_path / "server-a.log", tmp_path / "server-b.log")
    with (
        ivr_serve(env, logs[0]) as port_a,
        ivr_serve(env, logs[1]) as port_b,
        nginx(tmp_path / "nginx", https_port, port_a, port_b) as proxy,
    ):
        app = create_app(
            {
                "database_url": shared_database,
                "environment": "production",
                "twilio_auth_token": AUTH_TOKEN,
                "secret_key": env["IVR_SECRET_KEY"],
                "contact_key": env["IVR_CONTACT_KEY"],
                "public_base_url": env["PUBLIC_BASE_URL"],
                "call_gateway": "fake",
            }
        )
        try:
            yield TwoServers(
                app,
                proxy,
                (f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"),
                logs,
                shared_database,
                env,
            )
        finally:
            get_engine(app).dispose()


def _walk(call: SimulatedCall) -> list[str]:
    """Every TwiML document the caller got, from the ring to the queue."""
    answers = [start_in_english(call)]
    answers += [call.press(key) for key in KEYS]
    assert answers[-1].find("Enqueue") is not None
    return [ET.tostring(twiml, encoding="unicode") for twiml in answers]


def _answers(database_url: str) -> list[tuple[object, ...]]:
    engine = create_engine(normalise_url(database_url))
    with Session(engine) as session:
        rows = session.scalars(select(Call).order_by(Call.id)).all()
        found = [(c.line, c.language, c.force, c.urgent, c.anonymous, c.status) for c in rows]
    engine.dispose()
    return found


def test_a_call_whose_steps_alternate_between_servers_ends_as_on_one(two_servers):
    through_proxy = _walk(two_servers.call())
    steps_a, steps_b = two_servers.requests_seen("POST /voice/step/")
    # Round-robin: the call's steps were shared out, each server took some of them.
    assert steps_a >= 2 and steps_b >= 2, (steps_a, steps_b)

    on_one_server = _walk(two_servers.call(via=two_servers.server_urls[0]))
    # The caller heard exactly the same, whichever server answered each step.
    assert through_proxy == on_one_server
    first, second = _answers(two_servers.database_url)
    assert first == second
    assert first[2:] == ("kent", True, True, "queued")


def test_a_handler_through_the_proxy_takes_a_call_queued_through_the_other_server(
    two_servers, browser
):
    add_user(two_servers.app, "hana", "handler")
    # The whole call reached server B only, never nginx.
    _walk(two_servers.call(via=two_servers.server_urls[1]))
    context = browser.new_context(ignore_https_errors=True, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in_browser(page, two_servers, "hana")
    page.get_by_role("button", name="Take next caller").click()
    expect(page).to_have_url(re.compile(r"/console/reports/[A-Z0-9]{4}-[A-Z0-9]{4}"))
    context.close()
    engine = create_engine(normalise_url(two_servers.database_url))
    with Session(engine) as session:
        call = session.scalars(select(Call)).one()
        hana = session.scalars(select(User).where(User.username == "hana")).one()
        assert call.status == "answered" and call.handler_id == hana.id
    engine.dispose()
    # Server A had its share of the console's requests through the proxy.
    assert all(n > 0 for n in two_servers.requests_seen("/console/"))


class Direct:
    """A browser's requests sent straight to one server, as nginx would forward them
    (https, the public Host): its own cookie header, since the cookie is Secure."""

    def __init__(self, servers: TwoServers) -> None:
        self.servers = servers
        self.cookie = ""
        self.host = servers.url.removeprefix("https://")

    def request(self, server: int, method: str, path: str, **kwargs) -> requests.Response:  # type: ignore[no-untyped-def]
        headers = {
            "Host": self.host,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": self.host,
            "Referer": f"{self.servers.url}/console/login",
            "Origin": self.servers.url,
        }
        if self.cookie:
            headers["Cookie"] = self.cookie
        response = requests.request(
            method,
            self.servers.server_urls[server] + path,
            headers=headers,
            allow_redirects=False,
            timeout=15,
            **kwargs,
        )
        if "session" in response.cookies:
            self.cookie = f"session={response.cookies['session']}"
        return response

    def sign_in(self, server: int, name: str, password: str) -> requests.Response:
        page = self.request(server, "GET", "/console/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
        assert token is not None, page.text
        form = {"csrf_token": token.group(1), "username": name, "password": password}
        first = self.request(server, "POST", "/console/login", data=form)
        step = first.headers.get("Location", "")
        if first.status_code != 302 or "/console/login/" not in step:
            return first
        # The second step (an authenticator's code), on the same server.
        path = step[step.index("/console/login/") :]
        page = self.request(server, "GET", path)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
        assert token is not None, page.text
        code = {"csrf_token": token.group(1), "code": code_for(self.servers.app, name)}
        return self.request(server, "POST", path, data=code)


def test_a_session_from_one_server_is_good_on_the_other(two_servers):
    add_user(two_servers.app, "hana", "handler")
    browser = Direct(two_servers)
    signed_in = browser.sign_in(0, "hana", PASSWORD)
    assert signed_in.status_code == 302, signed_in.text
    # Signed in on A; B knows the session (same secret key, sessions checked in the database).
    queue = browser.request(1, "GET", "/console/queue")
    assert queue.status_code == 200 and "Take next caller" in queue.text


def test_failed_sign_ins_are_counted_across_servers(two_servers):
    add_user(two_servers.app, "hana", "handler")
    limit = int(os.environ.get("IVR_CONSOLE_LOGIN_MAX_FAILURES", "5"))
    for attempt in range(limit):
        Direct(two_servers).sign_in(attempt % 2, "hana", "not the password")
    # The lock holds on both servers: the right password now signs in on neither.
    for server in (0, 1):
        browser = Direct(two_servers)
        browser.sign_in(server, "hana", PASSWORD)
        assert browser.request(server, "GET", "/console/queue").status_code != 200
    engine = create_engine(normalise_url(two_servers.database_url))
    with Session(engine) as session:
        hana = session.scalars(select(User).where(User.username == "hana")).one()
        assert hana.locked_until is not None
    engine.dispose()


def test_two_delivery_workers_deliver_each_report_exactly_once(two_servers, force_server):
    engine = create_engine(normalise_url(two_servers.database_url))
    sessions = sessionmaker(engine, expire_on_commit=False)
    forces = ForceCatalogue.load(PROJECT_ROOT / "config" / "forces.toml")
    routes = routes_to(forces, {"kent": ("https", force_server.url)})
    with sessions() as session:
        supervisor = make_user(session)
        references = set()
        for _ in range(20):
            report = make_report(session, ("kent",))
            approve(session, report, supervisor, routes)
            references.add(report.reference)
    force_server.failures = 3  # a few need a second go, which either worker may take
    env = {**os.environ, **two_servers.env}
    workers = [
        subprocess.Popen(  # noqa: S603
            [IVR, "deliver", "--interval", "1"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(force_server.acknowledged) < len(references):
            time.sleep(0.5)
        time.sleep(3)  # time for a duplicate to arrive, were there to be one
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=20)
    keys = [request["key"] for request in force_server.acknowledged]
    assert len(keys) == len(set(keys)) == len(references)
    assert {record["reference"] for record in force_server.records()} == references
    with sessions() as session:
        states = set(session.scalars(select(Dissemination.state)).all())
    assert states == {"delivered"}
    engine.dispose()
