"""The figures page in a real browser against a real server: two simulated IVR calls
(one queued then left, one hung up at the force question) show in the figures,
the funnel and the CSV a supervisor downloads."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.models import AuditEntry
from tests.browser import screenshot
from tests.conftest import walk
from tests.console_helpers import BROWSER_SETTINGS, add_user, sign_in_browser

pytestmark = pytest.mark.browser


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, **BROWSER_SETTINGS}


def test_the_figures_page_shows_simulated_calls(live_server, browser_page):
    queued = live_server.call()
    twiml = walk(queued)  # the Met, not urgent, anonymous
    assert twiml.find("Enqueue") is not None
    queued.leave_queue("hangup", queue_time=42)
    queued.hang_up()
    gone = live_server.call()
    walk(gone, to="force")  # then hangs up at the force question
    gone.hang_up()

    add_user(live_server.app, "sue", "supervisor")
    page = browser_page
    sign_in_browser(page, live_server, "sue", then="/console/figures")

    calls = page.locator("#calls")
    expect(calls.locator('[data-figure="calls"]')).to_have_text("2")
    expect(calls.locator('[data-figure="queued_and_left"]')).to_have_text("1")
    expect(calls.locator('[data-figure="abandoned"]')).to_have_text("1")
    expect(page.locator('#announcement [data-figure="calls"]')).to_have_text("2")
    expect(calls).to_contain_text("40 s / 40 s")  # 42 s, in the 5-second steps under a minute
    funnel = page.locator('svg[aria-label^="Callers reaching each step"]')
    expect(funnel).to_be_visible()
    expect(funnel).to_contain_text("force")
    expect(funnel).to_contain_text("2 reached, 1 hung up")  # the force question
    expect(funnel).to_contain_text("1 reached, 0 hung up")  # the queue, and the steps before
    outcomes = page.locator('svg[aria-label="Calls by outcome"]')
    expect(outcomes).to_contain_text("Left the queue")
    screenshot(page, "figures-page")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download these figures (CSV)").click()
    rows = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert "calls,,2" in rows and "abandoned_at_step,force,1" in rows
    with Session(get_engine(live_server.app)) as session:
        exports = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
    assert len(exports) == 1 and exports[0].record_type == "figures"
