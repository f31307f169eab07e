"""Production is the tested case: the app in production settings, served by `ivr serve`,
behind the shipped nginx site over HTTPS. Real Chromium signs staff in, a handler takes a
call and submits the report, a supervisor approves it; Twilio's signed webhooks reach the
app through the proxy, signed for the https URL (PUBLIC_BASE_URL)."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from ivr.core.db import normalise_url
from ivr.models import Report
from tests.browser import screenshot
from tests.conftest import walk
from tests.console_helpers import add_user, sign_in_browser

pytestmark = pytest.mark.browser
# nginx's access line: the hour (its minutes and seconds zero) and the zone, then the rest.
HOUR = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:00(?:[+-]\d\d:\d\d|Z) \"")


def _https_page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(
        ignore_https_errors=True, viewport={"width": 1366, "height": 900}, locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def test_staff_sign_in_take_a_call_report_and_approve_over_https(production, browser):
    add_user(production.app, "hana", "handler")
    add_user(production.app, "sue", "supervisor")

    # A caller rings, through nginx, signed for the https URL: Kent, at risk now,
    # anonymous.
    call = production.call()
    twiml = walk(call, force="kent", urgent=True)
    assert twiml.find("Enqueue") is not None

    hana_context, hana = _https_page(browser)
    sign_in_browser(hana, production, "hana")
    assert hana.context.cookies()[0]["secure"]
    hana.get_by_role("button", name="Take next caller").click()
    expect(hana).to_have_url(re.compile(r"/console/reports/[A-Z0-9]{4}-[A-Z0-9]{4}"))
    reference = hana.url.split("/console/reports/")[1].split("?")[0]
    hana.locator("[name=subjects-0-name]").fill("PCSO Lee Marsh")
    hana.locator("[name=what]").fill("Uses the police computer to track his ex-partner.")
    hana.locator("[name=when_text]").fill("Since September")
    hana.locator("[name=where]").fill("Maidstone")
    hana.get_by_role("button", name="Save draft").click()
    expect(hana.get_by_text("Draft saved at")).to_be_visible()
    hana.get_by_label("Saw it").check()
    hana.get_by_label("Domestic abuse or control").check()  # not asked on the phone
    hana.locator("[name=risk_who]").fill("His ex-partner: he turns up where she is.")
    hana.get_by_role("button", name="Submit for review").click()
    expect(hana.get_by_text(f"Report {reference} submitted for review.")).to_be_visible()
    screenshot(hana, "production-report-submitted")
    call.hang_up()

    sue_context, sue = _https_page(browser)
    sign_in_browser(sue, production, "sue")
    sue.get_by_role("link", name="Review", exact=True).click()
    sue.locator("#waiting").get_by_role("link", name=reference).click()
    sue.get_by_role("button", name="Approve and send").click()
    expect(sue.get_by_text(f"Report {reference} approved")).to_be_visible()
    screenshot(sue, "production-report-approved")
    hana_context.close()
    sue_context.close()

    engine = create_engine(normalise_url(production.database_url))
    with Session(engine) as session:
        report = session.scalars(select(Report)).one()
        assert report.reference == reference and report.status == "approved"
    engine.dispose()

    # nginx logged the requests: paths and answers, nothing of who made them, and each at
    # its hour, not its second (a call's times would match the phone company's record).
    access = production.proxy.access_log.read_text()
    assert '"POST /voice/step/' in access and '"POST /console/login" 302' in access
    for needle in ("127.0.0.1", "seq=", "Mozilla", "Chrome", "TwilioProxy", "python-requests"):
        assert needle not in access, needle
    lines = access.splitlines()
    assert lines and all(HOUR.match(line) for line in lines), lines[:3]
    # Debian's own access log (combined, with addresses) got nothing of this site.
    assert not production.proxy.debian_access_log.read_text()
    # Nor did the app's log (the journal in production, which times every line to the
    # second): no line for any of the call's webhooks, and nothing of the caller.
    app_log = production.app_log.read_text()
    assert '"POST /voice/' not in app_log and "/voice/step/" not in app_log
    for needle in ("127.0.0.1 -", "seq=", "Mozilla", "7911"):
        assert needle not in app_log, needle


def test_the_proxy_speaks_https_only_with_hsts(production):
    response = requests.get(
        production.url + "/console/login", verify=str(production.proxy.cert), timeout=10
    )
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")
    assert "nginx/" not in response.headers.get("Server", "")
    assert response.headers.get("Content-Encoding") is None  # no gzip: BREACH
    plain = requests.get(
        production.proxy.http_url + "/console/login", allow_redirects=False, timeout=10
    )
    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://")
