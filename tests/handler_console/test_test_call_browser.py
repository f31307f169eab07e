"""The test-call page in a real browser against a real server: a supervisor rings the
line, walks the call to the queue by clicking keys and typing what the caller says,
and the call waits in the queue marked TEST; a handler is refused the page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.models import Call
from ivr.sim.walks import keys_to_queue
from tests.browser import screenshot
from tests.console_helpers import BROWSER_SETTINGS, add_user, sign_in_browser

pytestmark = pytest.mark.browser


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, **BROWSER_SETTINGS}


def _press(page, key):
    page.get_by_role("button", name=f"key {key}", exact=True).click()


def test_a_supervisor_rings_the_line_from_the_console(live_server, browser, browser_page):
    add_user(live_server.app, "sue", "supervisor")
    add_user(live_server.app, "hana", "handler")
    page = browser_page
    sign_in_browser(page, live_server, "sue", "/console/test-call")
    expect(page).to_have_url(re.compile(r"/console/test-call$"))
    page.get_by_role("button", name="Ring the line").click()
    expect(page.locator("#transcript")).to_contain_text("English, 1.")
    _press(page, "1")
    expect(page.locator("#waiting-at")).to_contain_text("Their role")
    expect(page.locator("#transcript")).to_contain_text("not the police")
    _press(page, "1")  # an officer
    expect(page.locator("#waiting-at")).to_contain_text("Which force")
    page.get_by_label("Say").fill("the Met")
    page.get_by_role("button", name="Say it").click()
    expect(page.locator("#transcript")).to_contain_text("said “the Met”")
    expect(page.locator("#waiting-at")).to_contain_text("Which force: name read back")
    for key in ("1", *keys_to_queue(start="category")):  # yes; bribery, not urgent, anonymous
        _press(page, key)
    expect(page.locator("#ending")).to_contain_text("In the queue")
    expect(page.locator("#ending")).to_contain_text("place 1")
    screenshot(page, "test-call")

    with Session(get_engine(live_server.app)) as session:
        call = session.scalars(select(Call)).one()
        assert call.is_test and call.status == "queued" and call.force == "metropolitan"

    # The handler sees it in the queue, marked TEST, and is refused the test-call page.
    other = browser.new_context().new_page()
    sign_in_browser(other, live_server, "hana", "/console/queue")
    expect(other.locator("#queue-rows")).to_contain_text("TEST")
    expect(other.locator("#queue-rows")).to_contain_text("Metropolitan")
    response = other.goto(live_server.url + "/console/test-call")
    assert response is not None and response.status == 403
    expect(other.get_by_role("link", name="Test call")).to_have_count(0)
    other.context.close()

    page.get_by_role("button", name=re.compile("Hang up")).click()
    expect(page.get_by_role("button", name="Ring the line")).to_be_visible()
    with Session(get_engine(live_server.app)) as session:
        assert session.scalars(select(Call.status)).one() == "ended"


def test_the_flow_diagram_shows_under_the_strict_csp(live_server, browser_page):
    add_user(live_server.app, "sue", "supervisor")
    page = browser_page
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text))
    sign_in_browser(page, live_server, "sue", "/console/flows")
    diagram = page.locator("#flow-diagram svg")
    expect(diagram).to_be_visible()
    expect(page.locator("#step-force")).to_contain_text("Which force")
    # The step titles are bold by the console's stylesheet, not an inline <style>.
    weight = page.locator("#step-force text.title").evaluate("e => getComputedStyle(e).fontWeight")
    assert weight in ("700", "bold")
    page.get_by_role("link", name="Welsh", exact=True).first.click()
    expect(page.locator("#step-force")).to_contain_text("heddlu")
    assert not [text for text in refused if "Content Security Policy" in text], refused
    screenshot(page, "flows")
