"""The queue's optional sound, in a real browser: with "Play a sound when a caller joins
the queue" ticked, a caller joining (seen at the next refresh) plays the tone once;
unticked, it stays silent (handler_console/static/queue.js). The tone is counted by a
spy on OscillatorNode.start, put in before the page's own script runs."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.console_helpers import BROWSER_SETTINGS, add_user, queue_a_caller, sign_in_browser

pytestmark = pytest.mark.browser

COUNT_TONES = """
window.__tones = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.__tones += 1;
  return start.apply(this, args);
};
"""


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, **BROWSER_SETTINGS, "queue_refresh_seconds": 1}


def _queue_page(live_server, browser, sound_on: bool):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.add_init_script(COUNT_TONES)
    page = context.new_page()
    page.set_default_timeout(10_000)
    add_user(live_server.app, "hana", "handler")
    sign_in_browser(page, live_server, "hana")
    choice = page.get_by_label("Play a sound when a caller joins the queue")
    expect(choice).to_be_visible()
    if sound_on:
        choice.check()
    expect(page).to_have_title(re.compile(r"^Queue"))  # nobody waiting yet
    return page


def test_a_caller_joining_plays_the_sound_when_it_is_on(live_server, browser):
    page = _queue_page(live_server, browser, sound_on=True)
    page.reload()  # the choice is remembered
    expect(page.get_by_label("Play a sound when a caller joins the queue")).to_be_checked()
    assert page.evaluate("window.__tones") == 0
    queue_a_caller(live_server.call)
    expect(page).to_have_title(re.compile(r"^\(1 waiting\) Queue"))  # the refresh saw them
    assert page.evaluate("window.__tones") == 1
    page.wait_for_timeout(2500)  # more refreshes, nobody new: no more tones
    assert page.evaluate("window.__tones") == 1
    queue_a_caller(live_server.call)
    expect(page).to_have_title(re.compile(r"^\(2 waiting\) Queue"))
    assert page.evaluate("window.__tones") == 2


def test_a_caller_joining_is_silent_when_the_sound_is_off(live_server, browser):
    page = _queue_page(live_server, browser, sound_on=False)
    queue_a_caller(live_server.call)
    expect(page).to_have_title(re.compile(r"^\(1 waiting\) Queue"))
    page.wait_for_timeout(1500)
    assert page.evaluate("window.__tones") == 0
