"""Two tabs of one report in a real browser: the second tab's save shows both versions
and keeps its own text in the form; a tab whose autosave meets a newer version says so
and stops autosaving (static/report.js). Also checked with axe at the conflict page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.models import Report
from tests.accessibility import assert_accessible, horizontal_overflow
from tests.browser import screenshot
from tests.console_helpers import BROWSER_SETTINGS, add_user, sign_in_browser
from tests.records.conftest import make_report

pytestmark = pytest.mark.browser


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, **BROWSER_SETTINGS}


def _draft(app, handler_id) -> str:  # type: ignore[no-untyped-def]
    with Session(get_engine(app)) as session:
        report = make_report(session, status="draft", created_by_id=handler_id, what="First.")
        return report.reference


def _stored_what(app, reference) -> str:  # type: ignore[no-untyped-def]
    with Session(get_engine(app)) as session:
        return session.scalars(select(Report.what).where(Report.reference == reference)).one()


def test_two_tabs_of_one_report(live_server, browser):
    app = live_server.app
    reference = _draft(app, add_user(app, "hana", "handler"))
    url = f"/console/reports/{reference}"
    # axe's script must be let in past the console's Content-Security-Policy.
    context = browser.new_context(viewport={"width": 1366, "height": 900}, bypass_csp=True)
    first = context.new_page()
    first.set_default_timeout(10_000)
    sign_in_browser(first, live_server, "hana", then=url)
    second = context.new_page()
    second.set_default_timeout(10_000)
    second.goto(live_server.url + url)

    first.locator("[name=what]").fill("Typed in the first tab, saved first.")
    first.get_by_role("button", name="Save draft").last.click()
    expect(first.locator(".flash-info")).to_contain_text("Draft saved")

    second.locator("[name=what]").fill("Typed in the second tab, saved second.")
    second.get_by_role("button", name="Save draft").last.click()
    conflict = second.locator("#conflict")
    expect(conflict).to_contain_text("Not saved: this report was changed after your page")
    expect(conflict.locator(".stored")).to_contain_text("Typed in the first tab, saved first.")
    expect(conflict.locator(".yours")).to_contain_text("Typed in the second tab, saved second.")
    expect(second.locator("[name=what]")).to_have_value("Typed in the second tab, saved second.")
    assert _stored_what(app, reference) == "Typed in the first tab, saved first."
    screenshot(second, "console-save-conflict")
    assert_accessible(second, "the save conflict page")
    second.set_viewport_size({"width": 375, "height": 800})  # a phone: nothing overflows
    assert horizontal_overflow(second) == 0
    screenshot(second, "console-save-conflict-phone")

    # The handler merges by hand and saves: it goes through.
    second.locator("[name=what]").fill("Typed in the first tab; and in the second.")
    second.get_by_role("button", name="Save draft").last.click()
    expect(second.locator(".flash-info")).to_contain_text("Draft saved")
    assert _stored_what(app, reference) == "Typed in the first tab; and in the second."
    context.close()


def test_an_autosave_that_meets_a_newer_version_says_so_and_stops(live_server, browser_page):
    app = live_server.app
    reference = _draft(app, add_user(app, "hana", "handler"))
    url = f"/console/reports/{reference}"
    stale = browser_page
    stale.clock.install()
    sign_in_browser(stale, live_server, "hana", then=url)
    other = stale.context.new_page()
    other.goto(live_server.url + url)
    other.locator("[name=what]").fill("Saved in the other tab.")
    other.get_by_role("button", name="Save draft").last.click()
    expect(other.locator(".flash-info")).to_contain_text("Draft saved")

    saves: list[int] = []
    stale.on(
        "response",
        lambda r: (
            saves.append(r.status) if r.request.method == "POST" and r.url.endswith(url) else None
        ),
    )
    stale.locator("[name=what]").fill("Typed in the stale tab.")
    with stale.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(url)):
        stale.clock.fast_forward("00:21")
    status = stale.locator("#autosave-status")
    expect(status).to_contain_text("Autosave has stopped")
    expect(status).to_have_attribute("role", "alert")
    stale.locator("[name=what]").fill("Typed in the stale tab, and more.")
    stale.clock.fast_forward("00:45")
    stale.wait_for_timeout(300)
    assert saves == [409]  # one refused autosave, then none
    assert _stored_what(app, reference) == "Saved in the other tab."
    expect(stale.locator("[name=what]")).to_have_value("Typed in the stale tab, and more.")
    # Save draft now shows both versions, as for two tabs.
    stale.get_by_role("button", name="Save draft").last.click()
    expect(stale.locator("#conflict .stored")).to_contain_text("Saved in the other tab.")


def test_a_submit_waits_for_the_autosave_in_flight(live_server, browser_page):
    """The autosave has reached the server (a new version) but its answer has not come
    back when the handler presses Submit: the submit must wait and name that version,
    or it would meet its own tab's autosave as a conflict."""
    app = live_server.app
    reference = _draft(app, add_user(app, "hana", "handler"))
    url = f"/console/reports/{reference}"
    page = browser_page
    page.clock.install()
    sign_in_browser(page, live_server, "hana", then=url)
    held = []

    def hold_autosave_answer(route):  # type: ignore[no-untyped-def]
        if route.request.method == "POST" and route.request.headers.get("x-autosave") == "1":
            held.append((route, route.fetch()))  # saved on the server; answer held back
        else:
            route.continue_()

    page.route(live_server.url + url, hold_autosave_answer)
    page.locator("[name=what]").fill("Autosaved, then submitted at once by the handler.")
    page.clock.fast_forward("00:21")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the autosave never went out"
    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_timeout(300)
    route, answer = held[0]
    route.fulfill(response=answer)
    expect(page).to_have_url(live_server.url + "/console/reports")
    expect(page.locator(".flash-info")).to_contain_text(f"Report {reference} submitted")
    assert _stored_what(app, reference) == "Autosaved, then submitted at once by the handler."
