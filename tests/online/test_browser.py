"""The whole online report in Debian's chromium, with JavaScript off and on, in English
and in Welsh; axe-core on every public page (zero violations); screenshots saved in
test-artifacts/ (online-*.png)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from ivr.core.db import get_session
from ivr.models import Report
from tests.accessibility import assert_accessible
from tests.browser import screenshot

pytestmark = pytest.mark.browser

WORDS = {
    "en": {"start": "Start now", "send": "Send report", "done": "Report sent", "busy": "Continue"},
    "cy": {"start": "Dechrau nawr", "send": "Anfon adroddiad", "done": "Adroddiad wedi'i anfon"},
}


@pytest.fixture(params=[False, True], ids=["no-js", "js"])
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1024, "height": 800},
        locale="en-GB",
        java_script_enabled=request.param,
        # axe is injected only where JavaScript runs; the pages' CSP allows no such script.
        bypass_csp=request.param,
    )
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    opened.javascript = request.param
    requests_seen: list[str] = []
    opened.on("request", lambda r: requests_seen.append(r.url))
    opened.requests_seen = requests_seen
    yield opened
    context.close()


def _look(page: Any, name: str, lang: str) -> None:
    """axe and a screenshot, where JavaScript runs (axe needs it; the HTML is the same)."""
    if page.javascript:
        assert_accessible(page, f"online-{name}-{lang}")
        screenshot(page, f"online-{name}-{lang}")


def _continue(page: Any) -> None:
    page.locator("main button[type=submit]").click()


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_the_whole_online_report(live_server: Any, page: Any, lang: str) -> None:
    base = live_server.url
    page.goto(f"{base}/report/?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    _look(page, "start", lang)
    page.get_by_role("button", name=WORDS[lang]["start"]).click()

    # An error first: the summary links to the field, the field says what is wrong.
    _continue(page)
    assert page.title().startswith("Error: " if lang == "en" else "Gwall: ")
    summary_link = page.locator(".error-summary a")
    assert summary_link.get_attribute("href") == "#risk_now"
    _look(page, "error", lang)
    summary_link.click()
    page.check("input[name=risk_now][value=yes]")
    _continue(page)
    _look(page, "risk-who", lang)
    page.fill("textarea[name=risk_who]", "A witness has been threatened.")
    _continue(page)
    _look(page, "force", lang)
    page.select_option("select[name=force]", "south-wales")
    _continue(page)
    _look(page, "role", lang)
    page.check("input[name=role][value=officer]")
    _continue(page)
    _look(page, "categories", lang)
    page.check("input[name=categories][value=bribery]")
    _continue(page)
    _look(page, "what", lang)
    page.fill("textarea[name=what]", "He sold names of witnesses; he told me on 07911 123456.")
    # A reload keeps a saved answer: post it, come back, reload. (Back only once the
    # next page has loaded: going back mid-navigation loses the page under load.)
    with page.expect_navigation():
        _continue(page)
    page.go_back()
    page.reload()
    assert "07911 123456" in page.input_value("textarea[name=what]")
    _continue(page)
    _look(page, "when", lang)
    page.fill("input[name=when_text]", "spring 2024")
    _continue(page)
    _look(page, "where", lang)
    page.fill("textarea[name=where]", "Cardiff")
    _continue(page)
    _look(page, "subject", lang)
    page.fill("input[name=subject_name]", "PC Jones")
    _continue(page)
    _look(page, "how-known", lang)
    page.check("input[name=how_known][value=saw]")
    _continue(page)
    _look(page, "anonymous", lang)
    page.check("input[name=anonymous][value=yes]")
    _continue(page)

    # Check your answers, with the warning about the phone number typed in "what".
    assert page.locator(".warning-panel").count() == 1
    assert "07911 123456" in page.locator(".warning-panel").inner_text()
    _look(page, "check", lang)
    page.get_by_role("button", name=WORDS[lang]["send"]).click()
    assert page.locator("h1").inner_text() == WORDS[lang]["done"]
    _look(page, "done", lang)
    reference = page.locator("#reference").inner_text()
    code = page.locator("#code").inner_text().replace(" ", "")
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", reference) and len(code) == 12

    with live_server.app.app_context():
        report = get_session().scalar(select(Report).where(Report.reference == reference))
        assert report.origin == "online" and report.urgent and report.anonymous
        assert report.subjects[0].force == "south-wales"
    # Nothing was loaded from another origin.
    assert all(url.startswith(base) for url in page.requests_seen), page.requests_seen


def test_the_pages_work_by_keyboard(live_server: Any, page: Any) -> None:
    page.goto(f"{live_server.url}/report/")
    page.keyboard.press("Tab")
    assert (
        page.evaluate("document.activeElement.className") == "skip-link"
        if page.javascript
        else True
    )
    page.goto(f"{live_server.url}/report/q/risk_now")
    page.focus("input[name=risk_now][value=no]")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_url("**/report/q/force")


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_following_up_in_the_browser(live_server: Any, page: Any, lang: str) -> None:
    from ivr.core import followup
    from ivr.models import ReportMessage, User

    with live_server.app.app_context():
        db = get_session()
        report = Report(reference="7KQD-M3XA", origin="online", status="disseminated", extra={})
        db.add(report)
        db.flush()
        code = followup.issue_code(db, report)
        boss = User(username="boss", password_hash="x", role="supervisor")
        db.add(boss)
        db.flush()
        question = ReportMessage(report_id=report.id, kind="question", text="Which car was it?")
        question.status, question.force_id, question.created_by_id = "open", "kent", boss.id
        db.add(question)
        db.commit()
    page.goto(f"{live_server.url}/report/follow-up?lang={lang}")
    _look(page, "followup-sign-in", lang)
    page.fill("#reference", "7kqd m3xa")
    page.fill("#code", "111111111111")
    _continue(page)
    assert page.locator(".error-summary a").get_attribute("href") == "#reference"
    _look(page, "followup-wrong", lang)
    page.fill("#code", code)
    _continue(page)
    assert "Which car was it?" in page.locator("main").inner_text()
    _look(page, "followup-home", lang)
    page.locator("main a[href*='/follow-up/answer/']").click()
    _look(page, "followup-answer", lang)
    page.fill("#text", "A red Ford, index starts WX12.")
    _continue(page)
    assert page.locator(".notice").count() == 1
    page.locator("main a[href$='/follow-up/add']").click()
    page.fill("#text", "Call me on 07911 123456")
    _continue(page)
    assert "07911 123456" in page.locator(".warning-panel").inner_text()
    _look(page, "followup-warning", lang)
    _continue(page)
    _look(page, "followup-sent", lang)
    with live_server.app.app_context():
        kinds = [m.kind for m in get_session().scalars(select(ReportMessage))]
        assert sorted(kinds) == ["addition", "answer", "question"]
