"""The console at work, in a real browser (issue 12): safe forms, one clock, the tab's
count of waiting callers, the folding menu, the skip link and focus outline, the
console's own 404, finding a report by reference, and errors under the right field."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.models import Report
from tests.browser import screenshot
from tests.console_helpers import (
    BROWSER_SETTINGS,
    PASSWORD,
    add_user,
    queue_a_caller,
    second_step_browser,
    sign_in_browser,
)

pytestmark = pytest.mark.browser
# Two-digit hours, as the server writes them: "0:11:13" is not a match.
UK_TIME = re.compile(r"(?<![\d:])(\d\d):(\d\d)(?::\d\d)? (GMT|BST)")


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, **BROWSER_SETTINGS, "queue_refresh_seconds": 1}


def _page(browser, width=1280, timezone="Pacific/Auckland"):
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="en-GB", timezone_id=timezone
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def _uk_clock_matches(text: str) -> None:
    """The labelled UK time in `text` names an instant within two minutes of now, and its
    label is UK time's then. Compared as instants, not as clock faces: written at 00:59 GMT
    and read at 02:00 BST (the clocks going forward), or either side of midnight, it is
    the same moment."""
    found = UK_TIME.search(text)
    assert found, f"no labelled UK time in {text!r}"
    shown = time(int(found.group(1)), int(found.group(2)))
    offset = timedelta(hours=1) if found.group(3) == "BST" else timedelta()
    now = datetime.now(UTC)
    instant = min(
        (datetime.combine(now.date() + timedelta(days=d), shown, tzinfo=UTC) - offset
         for d in (-1, 0, 1)),
        key=lambda moment: abs(moment - now),
    )  # fmt: skip
    assert abs(instant - now) <= timedelta(minutes=2), (text, now)
    assert instant.astimezone(ZoneInfo("Europe/London")).tzname() == found.group(3), text


def test_the_scripts_clock_after_midnight_and_in_summer(live_server, browser):
    """The queue's stamp, written by the script, has the server's two-digit hour: Chromium's
    en-GB default wrote "0:11:13 GMT" after midnight (CI failed at 00:11 on this)."""
    add_user(live_server.app, "hana", "handler")
    page = _page(browser)
    page.clock.install(time=datetime(2026, 12, 2, 0, 11, 13, tzinfo=UTC))
    sign_in_browser(page, live_server, "hana")
    queue_a_caller(live_server.call)
    expect(page).to_have_title(re.compile(r"^\(1 waiting\) Queue"))
    expect(page.locator("#queue-updated")).to_have_text(re.compile(r"^Updated 00:1\d:\d\d GMT$"))
    summer = page.evaluate("window.ukTime(new Date(Date.UTC(2026, 6, 1, 23, 5, 9)))")
    assert summer == "00:05:09 BST"


def test_one_clock_and_the_waiting_count_whatever_the_browsers_zone(live_server, browser):
    add_user(live_server.app, "hana", "handler")
    page = _page(browser)  # a browser 13 hours from London
    sign_in_browser(page, live_server, "hana")
    # Written by the server…
    _uk_clock_matches(page.locator("#queue-updated").inner_text())
    expect(page).to_have_title(re.compile(r"^Queue"))
    # …and by the script, once a caller joins: the same clock, the count in the title.
    queue_a_caller(live_server.call)
    expect(page).to_have_title(re.compile(r"^\(1 waiting\) Queue"))
    _uk_clock_matches(page.locator("#queue-updated").inner_text())
    expect(page.locator("#sound-choice")).to_be_visible()

    page.get_by_role("button", name="Take next caller").click()
    expect(page).to_have_url(re.compile(r"/console/reports/"))
    _uk_clock_matches(page.locator(".report-head time").inner_text())
    page.locator("[name=what]").fill("He takes money to look the other way.")
    page.get_by_role("button", name="Save draft").first.click()
    _uk_clock_matches(page.get_by_text("Draft saved at").inner_text())


def test_enter_saves_and_removing_or_erasing_asks_first(live_server, browser):
    add_user(live_server.app, "hana", "handler")
    queue_a_caller(live_server.call, anonymous=False)  # leaves a number
    page = _page(browser)
    sign_in_browser(page, live_server, "hana")
    page.get_by_role("button", name="Take next caller").click()
    expect(page.locator("select[name=subjects-0-force]")).to_have_value("metropolitan")

    # Enter in "Rank or grade" saves the draft; Person 1 stays.
    page.locator("[name=subjects-0-rank]").fill("Sergeant")
    page.locator("[name=subjects-0-rank]").press("Enter")
    expect(page.get_by_text("Draft saved at")).to_be_visible()
    expect(page.locator("[name=subjects-0-rank]")).to_have_value("Sergeant")
    expect(page.locator("select[name=subjects-0-force]")).to_have_value("metropolitan")

    # "Remove person 1" asks; "No, keep them" keeps; "Yes" removes and says so.
    page.get_by_role("button", name="Remove person 1").click()
    expect(page.locator("#confirm-remove")).to_contain_text("Remove person 1 from the report?")
    screenshot(page, "console-report-confirm-remove")
    page.get_by_role("button", name="No, keep them").click()
    expect(page.locator("[name=subjects-0-rank]")).to_have_value("Sergeant")
    page.get_by_role("button", name="Remove person 1").click()
    page.get_by_role("button", name="Yes, remove person 1").click()
    expect(page.get_by_text("Person 1 removed from the report.")).to_be_visible()
    expect(page.locator("[name=subjects-0-rank]")).to_have_count(0)

    # Erasing the contact details asks first too.
    expect(page.locator("[name=contact_phone]")).not_to_have_value("")
    page.get_by_role("button", name="Caller wants to stay anonymous (erase these details)").click()
    expect(page.locator("#confirm-erase")).to_contain_text("Erase these contact details?")
    expect(page.locator("[name=contact_phone]")).not_to_have_value("")
    page.get_by_role("button", name="Yes, erase them").click()
    expect(page.get_by_text("The contact details are erased")).to_be_visible()
    expect(page.locator("[name=contact_phone]")).to_have_count(0)


def test_a_phone_sized_menu_the_skip_link_focus_and_the_404(live_server, browser):
    add_user(live_server.app, "sue", "supervisor")
    page = _page(browser, width=375)
    sign_in_browser(page, live_server, "sue")
    review = page.get_by_role("link", name="Review", exact=True)
    expect(review).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(review).to_be_visible()
    screenshot(page, "console-menu-open-phone")
    review.click()
    expect(page).to_have_url(re.compile(r"/console/review$"))

    # The first Tab reaches the skip link; following it lands on the page's content.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the page")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    # The focus outline: at least 3 px, at least 3:1 against what is around it, in the
    # page (on a white panel) and in the dark menu bar alike.
    page.goto(live_server.url + "/console/account")
    for field, around in (
        (page.get_by_label("Current password"), ".panel"),
        (page.get_by_label("Find a report"), ".topbar"),
    ):
        if not field.is_visible():
            page.get_by_role("button", name="Menu").click()
        field.focus()
        width, colour = field.evaluate(
            "e => { const s = getComputedStyle(e);"
            " return [parseFloat(s.outlineWidth), s.outlineColor]; }"
        )
        background = page.locator(around).first.evaluate("e => getComputedStyle(e).backgroundColor")
        assert width >= 3
        assert _contrast(colour, background) >= 3, (colour, background)

    response = page.goto(live_server.url + "/console/no-such-page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("link", name="Back to the console")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Page not found"))


def test_find_a_report_by_reference_from_any_page(live_server, browser):
    add_user(live_server.app, "hana", "handler")
    add_user(live_server.app, "ivo", "handler")
    queue_a_caller(live_server.call)
    page = _page(browser)
    sign_in_browser(page, live_server, "hana")
    page.get_by_role("button", name="Take next caller").click()
    expect(page).to_have_url(re.compile(r"/console/reports/"))
    with Session(get_engine(live_server.app)) as session:
        reference = session.scalar(select(Report.reference))
    page.goto(live_server.url + "/console/account")
    page.get_by_label("Find a report").fill(reference.lower().replace("-", " "))
    page.get_by_role("button", name="Find").click()
    expect(page).to_have_url(re.compile(rf"/console/reports/{reference}"))

    other = _page(browser)
    sign_in_browser(other, live_server, "ivo")
    other.get_by_label("Find a report").fill(reference)
    other.get_by_role("button", name="Find").click()
    expect(
        other.get_by_text(f"No report you can open has the reference {reference}")
    ).to_be_visible()


def test_a_bad_phone_number_is_shown_under_phone(live_server, browser):
    add_user(live_server.app, "root", "admin")
    page = _page(browser)
    page.goto(live_server.url + "/console/login")
    expect(page.get_by_label("Username")).to_have_attribute("autocomplete", "username")
    expect(page.get_by_label("Password")).to_have_attribute("autocomplete", "current-password")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    second_step_browser(page, live_server.app, "root")
    page.get_by_label("Username").fill("newbie")
    page.get_by_label("Phone (handlers)").fill("12345")
    page.get_by_label("Password").fill("a good long passphrase")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("#phone-error")).to_contain_text("is not a valid phone number")
    expect(page.locator("#username-error")).to_have_count(0)
    expect(page.get_by_label("Phone (handlers)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Username")).not_to_have_attribute("aria-invalid", "true")


def _contrast(one: str, two: str) -> float:
    def luminance(css: str) -> float:
        r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css)[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    light, dark = sorted((luminance(one), luminance(two)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_handler_sees_what_could_identify_the_caller_while_typing(live_server, browser):
    add_user(live_server.app, "hana", "handler")
    queue_a_caller(live_server.call)  # anonymous
    page = _page(browser)
    sign_in_browser(page, live_server, "hana")
    page.get_by_role("button", name="Take next caller").click()
    panel = page.locator("#pii-check")
    expect(panel).to_contain_text("Nothing found")
    page.locator("[name=what]").fill("My sister saw it; ring her on 07700 900123.")
    expect(panel.locator("mark.pii-phone").first).to_have_text("07700 900123")
    expect(panel).to_contain_text("blocks approval")
    expect(panel.locator("mark.pii-first_person").first).to_have_text("My sister")
    screenshot(page, "console-report-pii-while-typing")
    # Saved and reopened (as a returned report is): the marks are there without typing.
    page.get_by_role("button", name="Save draft").first.click()
    expect(page.locator("#pii-check mark.pii-phone").first).to_have_text("07700 900123")
