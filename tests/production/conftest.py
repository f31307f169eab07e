"""The app in production settings, served by `ivr serve`, behind the shipped nginx site."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from flask import Flask

from ivr import create_app
from ivr.core.db import get_engine
from ivr.core.migrate import upgrade
from ivr.sim.twilio import SimulatedCall
from tests.conftest import AUTH_TOKEN
from tests.live_server import ROOT, free_port
from tests.production.stack import Proxy, ivr_serve, nginx, nginx_available

ROUTE_SECRET = "r" * 40


@dataclass
class Production:
    """The running stack, and `app`: the same app built in this process (not serving),
    on the same database and keys, for the tests' helpers (accounts, codes)."""

    app: Flask
    proxy: Proxy
    app_url: str  # gunicorn itself, http://127.0.0.1:PORT (what only nginx should reach)
    database_url: str
    env: dict[str, str]
    app_log: Path  # gunicorn's output: its access log and the app's log

    @property
    def url(self) -> str:
        return self.proxy.url

    def call(self, **kwargs: object) -> SimulatedCall:
        """A simulated Twilio call through nginx, signed for the https URL."""
        cert = str(self.proxy.cert)

        def post(url: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
            response = requests.post(url, data=form, headers=headers, timeout=15, verify=cert)
            return response.status_code, response.text

        return SimulatedCall(
            transport=post,
            auth_token=AUTH_TOKEN,
            base_url=self.url + "/",
            **kwargs,  # type: ignore[arg-type]
        )


ENV_EXAMPLE = ROOT / "deploy" / "helpline.env.example"


def production_env(database_url: str, instance: Path, public_base_url: str) -> dict[str, str]:
    """deploy/helpline.env.example, with this machine's database, addresses and secrets."""
    shipped = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            shipped[name.strip()] = value.strip()
    assert shipped["IVR_WEB_ENVIRONMENT"] == "production"
    return {
        **shipped,
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": public_base_url,
        "IVR_INSTANCE_DIR": str(instance),
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "IVR_SECRET_KEY": "p" * 48,
        "IVR_CONTACT_KEY": Fernet.generate_key().decode(),
        # No Twilio account in a test: taking a caller records the request instead.
        "IVR_CONSOLE_CALL_GATEWAY": "fake",
        "IVR_CONSOLE_LOGIN_FAILURE_DELAY_MS": "0",
        # Opening hours follow the wall clock, and a test may run at night: the checks
        # are walked with a simulated clock in tests/voice/test_no_one_to_answer.py.
        "IVR_CALLS_CHECK_STAFFING": "false",
        "IVR_ROUTE_KENT_URL": "https://psd.kent.example/helpline",
        "IVR_ROUTE_KENT_SECRET": ROUTE_SECRET,
    }


@pytest.fixture
def production(tmp_path: Path, database_url: str) -> Iterator[Production]:
    if not nginx_available():
        pytest.skip("nginx is not installed (`make test` installs it)")
    upgrade(database_url)
    https_port = free_port()
    instance = tmp_path / "instance"
    instance.mkdir()
    env = production_env(database_url, instance, f"https://127.0.0.1:{https_port}")
    app_log = tmp_path / "gunicorn.log"
    with (
        ivr_serve(env, app_log) as app_port,
        nginx(tmp_path / "nginx", https_port, app_port) as proxy,
    ):
        app = create_app(
            {
                "database_url": database_url,
                "environment": "production",
                "twilio_auth_token": env["TWILIO_AUTH_TOKEN"],
                "secret_key": env["IVR_SECRET_KEY"],
                "contact_key": env["IVR_CONTACT_KEY"],
                "public_base_url": env["PUBLIC_BASE_URL"],
                "call_gateway": "fake",
            }
        )
        try:
            yield Production(app, proxy, f"http://127.0.0.1:{app_port}", database_url, env, app_log)
        finally:
            get_engine(app).dispose()
