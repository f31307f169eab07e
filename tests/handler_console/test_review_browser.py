"""In a real browser against a real server: a caller rings and is queued, a handler takes
the call and submits the report, a supervisor returns it (it still holds a phone
number), the handler fixes it and resubmits, the supervisor approves it, and the
delivery worker sends it to a real HTTP server standing in for the force, which
checks the signature and receives it exactly once; the review page then says delivered."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session, sessionmaker

from ivr.core.db import get_engine
from ivr.core.runtime import get_core
from ivr.models import Dissemination
from ivr.records.delivery import Deliverer, DeliverySettings
from tests.browser import screenshot
from tests.conftest import walk
from tests.console_helpers import BROWSER_SETTINGS, add_user, sign_in_browser
from tests.records.conftest import force_server, make_report, routes_to  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, **BROWSER_SETTINGS}


def test_returned_fixed_approved_and_delivered_once(
    live_server,
    browser,
    browser_page,
    force_server,  # noqa: F811
):
    app = live_server.app
    runtime = get_core(app)
    routes = routes_to(runtime.forces, {"kent": ("https", force_server.url)})
    app.extensions["ivr.core"] = dataclasses.replace(runtime, routes=routes)
    add_user(app, "hana", "handler")
    add_user(app, "sue", "supervisor")

    # A caller rings: an officer of Kent, bribery, someone at risk now, anonymous.
    call = live_server.call()
    twiml = walk(call, force="kent", urgent=True)
    assert twiml.find("Enqueue") is not None

    # The handler takes the call and types up the report, a phone number slipping in.
    hana = browser_page
    sign_in_browser(hana, live_server, "hana")
    hana.get_by_role("button", name="Take next caller").click()
    expect(hana).to_have_url(re.compile(r"/console/reports/[A-Z0-9]{4}-[A-Z0-9]{4}"))
    reference = hana.url.split("/console/reports/")[1].split("?")[0]
    hana.locator("[name=subjects-0-name]").fill("PCSO Lee Marsh")
    hana.locator("[name=what]").fill(
        "Uses the police computer to track his ex-partner. "
        "My sister has seen the messages; call her on 07700 900123."
    )
    hana.locator("[name=when_text]").fill("Since September")
    hana.locator("[name=where]").fill("Maidstone")
    hana.get_by_label("Saw it").check()
    hana.get_by_label("Domestic abuse or control").check()  # not asked on the phone
    hana.locator("[name=risk_who]").fill("His ex-partner: he turns up where she is.")
    hana.get_by_role("button", name="Submit for review").click()
    expect(hana.get_by_text(f"Report {reference} submitted for review.")).to_be_visible()

    # The supervisor sees it first (urgent), with the phone number marked.
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    sue = context.new_page()
    sue.set_default_timeout(10_000)
    sign_in_browser(sue, live_server, "sue")
    sue.get_by_role("link", name="Review").click()
    first = sue.locator("#waiting tbody tr").first
    expect(first).to_contain_text(reference)
    expect(first).to_contain_text("Urgent")
    first.get_by_role("link", name=reference).click()
    expect(sue.locator("#field-what mark.pii-phone")).to_have_text(["07700 900123"])
    expect(sue.locator("#field-what mark.pii-first_person")).to_have_text("My sister")
    screenshot(sue, "console-review")

    sue.get_by_role("button", name="Approve and send").click()
    expect(sue.locator("#refusal")).to_contain_text(
        "Not approved: This anonymous report still contains what could identify the caller "
        "(a phone number in What happened)"
    )
    sue.get_by_role("button", name="Return to handler").click()
    expect(sue.get_by_text("Say what the handler should change")).to_be_visible()
    sue.get_by_label("What the handler should change").fill(
        "Take the sister's phone number out of 'What happened': it leads to the caller."
    )
    sue.get_by_role("button", name="Return to handler").click()
    expect(sue.get_by_text(f"Report {reference} returned to hana.")).to_be_visible()
    expect(sue.locator("#returned")).to_contain_text("Take the sister's phone number out")
    screenshot(sue, "console-review-list")

    # The handler sees why, fixes it and resubmits.
    hana.get_by_role("link", name="My reports").click()
    row = hana.locator("tr", has_text=reference)
    expect(row).to_contain_text("Returned to the handler")
    row.get_by_role("link", name=reference).click()
    expect(hana.locator("#return-comment")).to_contain_text("Take the sister's phone number out")
    hana.locator("[name=what]").fill(
        "Uses the police computer to track his ex-partner. Others have seen the messages."
    )
    hana.get_by_role("button", name="Submit for review").click()
    expect(hana.get_by_text(f"Report {reference} submitted for review.")).to_be_visible()

    # The supervisor approves it: nothing identifying is left.
    sue.get_by_role("link", name="Review", exact=True).click()
    sue.locator("#waiting").get_by_role("link", name=reference).click()
    expect(sue.locator("#returned-before")).to_contain_text("Take the sister's phone number")
    expect(sue.locator("mark.pii-phone")).to_have_count(0)
    expect(sue.locator("#decision")).to_contain_text(
        "Kent Police Professional Standards Department"
    )
    sue.get_by_role("button", name="Approve and send").click()
    expect(sue.get_by_text(f"Report {reference} approved")).to_be_visible()
    expect(sue.locator("#deliveries")).to_contain_text("Waiting to be sent")

    # The delivery worker sends it to the force's server; a second run sends nothing.
    worker = Deliverer(
        sessionmaker(get_engine(app), expire_on_commit=False),
        routes,
        runtime.cipher,
        DeliverySettings.from_settings(runtime.settings),
    )
    assert worker.run_once().delivered == 1
    assert worker.run_once().delivered == 0
    assert len(force_server.received) == 1 and force_server.received[0]["signature_ok"]
    record = json.loads(force_server.acknowledged[0]["body"])
    assert record["reference"] == reference
    assert record["reporter"] == {"anonymous": True}
    assert "07700" not in force_server.acknowledged[0]["body"].decode()

    sue.reload()
    expect(sue.locator("#deliveries tbody tr")).to_have_count(1)
    expect(sue.locator("#deliveries")).to_contain_text("Delivered")
    expect(sue.locator("#deliveries")).to_contain_text("acknowledged")
    expect(sue.locator(".report-head")).to_contain_text("Sent to the force")
    screenshot(sue, "console-review-delivered")
    context.close()


def test_a_supervisor_sanitises_and_approves_without_javascript(live_server, browser):
    app = live_server.app
    runtime = get_core(app)
    routes = routes_to(runtime.forces, {"kent": ("https", "https://psd.kent.example/x")})
    app.extensions["ivr.core"] = dataclasses.replace(runtime, routes=routes)
    add_user(app, "sue", "supervisor")
    with Session(get_engine(app), expire_on_commit=False) as session:
        report = make_report(
            session,
            what="He sells PNC checks. Text me on 07700 900123 or mail me at ann@example.org.",
            evidence="CCTV near the station, ME14 1XX",
        )
        # Another report's delivery has been failing for more than a day.
        stuck = make_report(session, status="approved", urgent=True)
        now = datetime.now(UTC)
        session.add(
            Dissemination(
                report_id=stuck.id,
                force_id="kent",
                channel="https",
                destination="https://psd.kent.example/x",
                idempotency_key="stuck" * 6,
                next_attempt_at=now + timedelta(hours=1),
                first_failed_at=now - timedelta(hours=26),
                attempts=31,
                last_error="cannot reach kent: Connection refused",
            )
        )
        session.commit()
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1366, "height": 900}, locale="en-GB"
    )
    sue = context.new_page()
    sue.set_default_timeout(10_000)
    sign_in_browser(sue, live_server, "sue")
    sue.goto(f"{live_server.url}/console/review/{report.reference}")
    expect(sue.locator("#delivery-alert")).to_contain_text(
        f"{stuck.reference} Urgent to Kent Police: failing since"
    )
    screenshot(sue, "console-review-alert")
    expect(sue.locator("#approval-refusal")).to_contain_text(
        "(a phone number in What happened; an e-mail address in What happened)"
    )
    sue.get_by_role("link", name="Edit the text to remove identifying details").click()
    expect(sue.get_by_label("What happened")).to_have_value(re.compile("07700 900123"))
    screenshot(sue, "console-review-sanitise")
    sue.get_by_label("What happened").fill("He sells PNC checks.")
    sue.get_by_role("button", name="Save changes").click()
    expect(sue.get_by_text("Saved: 1 field changed.")).to_be_visible()
    expect(sue.locator("#field-what mark")).to_have_count(0)
    expect(sue.locator("#field-evidence mark.pii-postcode")).to_have_text("ME14 1XX")
    sue.get_by_role("button", name="Approve and send").click()
    expect(sue.get_by_text(f"Report {report.reference} approved")).to_be_visible()
    expect(sue.locator("#deliveries")).to_contain_text("Waiting to be sent")
    context.close()
