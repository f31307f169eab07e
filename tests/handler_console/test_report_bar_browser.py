"""The report page's sticky Save draft / Submit bar never covers a section heading
scrolled into view, at 1280 px and at 375 px (handler_console/static/console.css:
`scroll-padding-bottom` keeps what is scrolled to clear of the bar). Each heading is
scrolled to as focus and in-page links scroll (the nearest edge, from the top of the
page), and the first field after it is focused the same way."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.console_helpers import BROWSER_SETTINGS, add_user, queue_a_caller, sign_in_browser

pytestmark = pytest.mark.browser

# For each heading of the report form: scroll to the top, bring the heading into view
# (block "nearest": what focusing it or following a link to it does), and report
# whether its box and the bar's overlap.
OVERLAPS = """
() => {
  const bar = document.querySelector("form .actions");
  const overlap = (a, b) =>
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const found = [];
  for (const heading of document.querySelectorAll("form h2, form h3")) {
    window.scrollTo(0, 0);
    heading.scrollIntoView({ block: "nearest" });
    const h = heading.getBoundingClientRect();
    const b = bar.getBoundingClientRect();
    found.push({ heading: heading.textContent.trim(), overlaps: overlap(h, b),
                 headingBottom: h.bottom, barTop: b.top });
  }
  return found;
}
"""


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, **BROWSER_SETTINGS}


@pytest.mark.parametrize("width,height", [(1280, 800), (375, 700)])
def test_the_sticky_bar_never_covers_a_section_heading(live_server, browser, width, height):
    queue_a_caller(live_server.call)
    add_user(live_server.app, "hana", "handler")
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in_browser(page, live_server, "hana")
    page.get_by_role("button", name="Take next caller").click()
    expect(page).to_have_url(re.compile(r"/console/reports/"))
    bar = page.locator("form .actions")
    expect(bar).to_be_visible()
    found = page.evaluate(OVERLAPS)
    headings = [entry["heading"] for entry in found]
    assert {"Who it is about", "What happened", "Risk and evidence", "The caller"} <= set(headings)
    assert [entry for entry in found if entry["overlaps"]] == [], found
    # Focusing the first field under each heading (as Tab does) keeps the heading clear too.
    for index, heading in enumerate(headings):
        page.evaluate("window.scrollTo(0, 0)")
        page.locator("form h2, form h3").nth(index).evaluate(
            "h => h.closest('section, .subject')"
            ".querySelector('input, select, textarea, button').focus()"
        )
        box, bar_box = (
            page.locator("form h2, form h3").nth(index).bounding_box(),
            bar.bounding_box(),
        )
        assert box is not None and bar_box is not None
        assert (
            box["y"] + box["height"] <= bar_box["y"] or box["y"] >= bar_box["y"] + bar_box["height"]
        ), heading
    context.close()
