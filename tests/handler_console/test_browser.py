"""The console in a real browser against a real server: sign in, see a caller arrive,
take the call, type up the report with two subjects, save, fix what the submit
refuses, submit; a second handler cannot take the same caller; and refusals."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.models import Call, Report
from tests.browser import screenshot
from tests.conftest import walk
from tests.console_helpers import (
    BROWSER_SETTINGS,
    PASSWORD,
    add_user,
    second_step_browser,
    sign_in_browser,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, **BROWSER_SETTINGS, "queue_refresh_seconds": 1}


def _ring(server, **answers):
    call = server.call()
    assert walk(call, **answers).find("Enqueue") is not None
    return call


def test_a_handler_takes_a_call_and_types_up_the_report(live_server, browser, browser_page):
    app = live_server.app
    add_user(app, "hana", "handler")
    add_user(app, "ivo", "handler")
    page = browser_page
    sign_in_browser(page, live_server, "hana")
    expect(page.locator("#queue-rows")).to_contain_text("Nobody is waiting.")

    # Callers ring while the page is open: it refreshes itself (JavaScript on).
    _ring(live_server)  # the Met, nobody at risk, anonymous
    _ring(live_server, force="wiltshire")
    _ring(live_server, force="kent", urgent=True)  # someone at risk now
    rows = page.locator("#queue-rows tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Kent")
    expect(rows.first).to_contain_text("Urgent")
    screenshot(page, "console-queue")

    # A second handler, with JavaScript off, looks at the same queue.
    other_context = browser.new_context(java_script_enabled=False)
    other = other_context.new_page()
    sign_in_browser(other, live_server, "ivo")
    expect(other.locator("#queue-rows tr")).to_have_count(3)

    # Hana takes the urgent caller (the first row).
    rows.first.get_by_role("button", name="Take").click()
    expect(page).to_have_url(re.compile(r"/console/reports/[A-Z0-9]{4}-[A-Z0-9]{4}"))
    expect(page.get_by_text("The caller is anonymous.")).to_be_visible()
    expect(page.locator("input[name=contact_phone]")).to_have_count(0)
    expect(page.locator("select[name=subjects-0-force]")).to_have_value("kent")

    # Ivo's page is stale: his Take on the same caller is refused.
    other.locator("#queue-rows tr").first.get_by_role("button", name="Take").click()
    expect(other.get_by_text("Another handler has just taken that caller")).to_be_visible()
    expect(other.locator("#queue-rows tr")).to_have_count(2)
    other_context.close()

    # Two subjects.
    page.locator("[name=subjects-0-name]").fill("PC Dan Rowe")
    page.locator("[name=subjects-0-collar_number]").fill("KT4471")
    page.get_by_label("Domestic abuse or control").check()  # not asked on the phone
    page.get_by_role("button", name="Add a person").click()
    page.locator("[name=subjects-1-description]").fill("His sergeant, first name Mike")
    page.locator("[name=subjects-1-role]").select_option("officer")
    page.locator("[name=subjects-1-force]").select_option("kent")
    page.locator("[name=what]").fill(
        "Controls his partner's phone and money; threatened to use police systems to find her."
    )
    page.locator("[name=when_text]").fill("Since last summer")
    page.get_by_label("Approximate").check()
    page.locator("[name=where]").fill("Their home in Maidstone")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Draft saved at")).to_be_visible()
    expect(page.locator("[name=subjects-1-description]")).to_have_value(
        "His sergeant, first name Mike"
    )

    # Submit refuses: how the caller knows and who is at risk are missing.
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Not submitted yet: the draft is saved.")).to_be_visible()
    expect(page.locator("#how_known-error")).to_contain_text("Choose how the caller knows")
    expect(page.locator("#risk_who-error")).to_contain_text("Say who is at risk")
    expect(page.locator("[name=where]")).to_have_value("Their home in Maidstone")
    screenshot(page, "console-report-form")

    page.get_by_label("Was affected").check()
    page.locator("[name=risk_who]").fill("His partner: he has threatened her.")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("submitted for review")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/console/reports$"))

    with Session(get_engine(app)) as session:
        report = session.scalars(select(Report)).one()
        assert report.status == "submitted"
        assert [s.name or s.description for s in report.subjects] == [
            "PC Dan Rowe",
            "His sergeant, first name Mike",
        ]
        taken = session.scalars(select(Call).where(Call.status == "answered")).all()
        assert len(taken) == 1 and taken[0].urgent
    assert len(app.extensions["ivr.voice.gateway"].requests) == 1


def test_signed_out_visitors_and_wrong_roles_are_refused(live_server, browser_page):
    add_user(live_server.app, "hana", "handler")
    page = browser_page
    page.goto(live_server.url + "/console/review")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in_browser(page, live_server, "hana")
    response = page.goto(live_server.url + "/console/review")
    assert response is not None and response.status == 403
    response = page.goto(live_server.url + "/console/users")
    assert response is not None and response.status == 403


def test_an_admin_adds_a_handler_who_can_thensign_in_browser(live_server, browser, browser_page):
    add_user(live_server.app, "root", "admin")
    page = browser_page
    page.goto(live_server.url + "/console/login")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    second_step_browser(page, live_server.app, "root")
    expect(page).to_have_url(re.compile(r"/console/users$"))
    page.get_by_label("Username").fill("newbie")
    page.get_by_label("Role").select_option("handler")
    page.get_by_label("Phone (handlers)").fill("0113 496 0000")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_text("The password must be at least 12 characters long.")).to_be_visible()
    page.get_by_label("Password").fill("a good long passphrase")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_text("Added newbie.")).to_be_visible()
    expect(page.locator("table")).to_contain_text("+441134960000")
    screenshot(page, "console-users")

    context = browser.new_context()
    newbie = context.new_page()
    newbie.goto(live_server.url + "/console/login")
    newbie.get_by_label("Username").fill("newbie")
    newbie.get_by_label("Password").fill("a good long passphrase")
    newbie.get_by_role("button", name="Sign in").click()
    # A new account sets up its authenticator app at its first sign-in.
    expect(newbie.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
    expect(newbie.locator(".qr svg")).to_be_visible()
    screenshot(newbie, "console-two-step-enrol")
    second_step_browser(newbie, live_server.app, "newbie")
    # An admin set (and so knows) the password: the newbie chooses their own first.
    expect(newbie).to_have_url(re.compile(r"/console/account$"))
    expect(newbie.get_by_text("Choose your own password before going on")).to_be_visible()
    newbie.goto(live_server.url + "/console/queue")
    expect(newbie).to_have_url(re.compile(r"/console/account$"))
    newbie.get_by_label("Current password").fill("a good long passphrase")
    newbie.get_by_label("New password", exact=True).fill("my very own passphrase")
    newbie.get_by_label("New password again").fill("my very own passphrase")
    newbie.get_by_role("button", name="Change password").click()
    expect(newbie.get_by_text("Password changed.")).to_be_visible()
    newbie.goto(live_server.url + "/console/queue")
    expect(newbie).to_have_url(re.compile(r"/console/queue$"))
    context.close()

    # A made-up strong password, shown once on the page (never in a cookie).
    page.get_by_label("Username").fill("second")
    page.get_by_label("Role").select_option("supervisor")
    page.get_by_label("Make one up for me (strong, shown once)").check()
    page.get_by_role("button", name="Add user").click()
    shown = page.locator("#new-password code").inner_text()
    assert re.fullmatch(r"[a-z2-9]{5}(-[a-z2-9]{5}){3}", shown), shown
    assert all(shown not in c["value"] for c in page.context.cookies())
    # A user's audit trail is one click away.
    page.get_by_role("link", name="What newbie did").click()
    expect(page.locator("#audit")).to_contain_text("Changed")


def test_a_closed_tab_keeps_what_was_typed(live_server, browser_page):
    """The open draft saves itself every 20 seconds (the page's clock is fast-forwarded)."""
    add_user(live_server.app, "hana", "handler")
    _ring(live_server)
    page = browser_page
    page.clock.install()
    sign_in_browser(page, live_server, "hana")
    page.get_by_role("button", name="Take next caller").click()
    expect(page).to_have_url(re.compile(r"/console/reports/"))
    report_url = page.url.split("?")[0]
    page.locator("[name=what]").fill("He sells names from the intelligence database.")
    with page.expect_response(
        lambda r: r.request.method == "POST" and not r.url.endswith("/check")
    ) as saved:
        page.clock.fast_forward("00:21")
    assert saved.value.status == 204
    expect(page.locator("#autosave-status")).to_contain_text("Draft saved automatically")
    page.close()

    again = browser_page.context.new_page()
    again.goto(report_url)
    expect(again.locator("[name=what]")).to_have_value(
        "He sells names from the intelligence database."
    )
