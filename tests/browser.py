"""Reusable fixtures for real-browser tests: the app served by a real HTTP server on
a free port, and Playwright driving Debian's chromium. Import them into a test file:

    from browser import browser, browser_page, live_server  # noqa: F401
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from ivr import create_app
from ivr.core.db import get_engine
from ivr.sim.twilio import SimulatedCall, http_transport

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@dataclass
class LiveServer:
    app: Flask
    url: str  # http://localhost:PORT, no trailing slash
    auth_token: str

    def call(self, **kwargs: Any) -> SimulatedCall:
        """A simulated Twilio call against this server over real HTTP."""

        return SimulatedCall(
            transport=http_transport(timeout=10),
            auth_token=self.auth_token,
            base_url=self.url + "/",
            **kwargs,
        )


@pytest.fixture
def live_server(settings_overrides: dict[str, object]) -> Iterator[LiveServer]:
    app = create_app(settings_overrides)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(
            app,
            f"http://localhost:{server.server_port}",
            str(settings_overrides["twilio_auth_token"]),
        )
    finally:
        server.shutdown()
        thread.join(timeout=5)
        get_engine(app).dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"chromium is not installed at {CHROMIUM} (`make browser` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def browser_page(browser: Any) -> Iterator[Any]:
    """A fresh page (its own cookies) at a desk-sized window."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
