"""Every console page, for every role, at a phone's width (375 px) and a desk's (1280 px),
in a real browser: no horizontal overflow, no word broken inside, no axe-core WCAG
2.0-2.2 A/AA violation; a screenshot of each is kept under test-artifacts/.

The database holds one of everything a page can show: callers waiting (one Welsh),
a draft, a submitted report about a sergeant, a returned one, one sent and
acknowledged with what the force did, a test call's report, audit entries.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.models import Call, Dissemination, Report, User
from tests.accessibility import axe_violations, broken_words, horizontal_overflow
from tests.browser import screenshot
from tests.conftest import walk
from tests.console_helpers import (
    BROWSER_SETTINGS,
    PASSWORD,
    add_user,
    csrf_token,
    second_step_browser,
    sign_in,
)
from tests.records.conftest import make_report

pytestmark = pytest.mark.browser

WIDTHS = {"phone": (375, 740), "desk": (1280, 900)}


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, **BROWSER_SETTINGS}


def _seed(server) -> dict[str, object]:
    app = server.app
    add_user(app, "hana", "handler")
    add_user(app, "sue", "supervisor")
    add_user(app, "root", "admin")
    # Callers waiting: two in English, one urgent; one in Welsh (the Welsh-first number).
    for answers in ({}, {"force": "kent", "urgent": True}):
        walk(server.call(), **answers)
    welsh = server.call(to_number="+448000850001")
    walk(welsh, start="welcome", language="cy", force="dyfed-powys")
    # Hana takes the first caller: a draft of hers.
    client = app.test_client()
    sign_in(client, "hana")
    client.post(
        "/console/queue/take-next", data={"csrf_token": csrf_token(client, "/console/queue")}
    )
    with Session(get_engine(app), expire_on_commit=False) as session:
        hana = session.scalar(select(User).where(User.username == "hana"))
        sue = session.scalar(select(User).where(User.username == "sue"))
        draft = session.scalar(select(Report).where(Report.status == "draft"))
        submitted = make_report(
            session,
            ("metropolitan", "kent"),
            created_by_id=hana.id,
            what="My neighbour, a Detective Sergeant in the Professional Standards "
            "Department, takes cash; ring 07700 900123.",
        )
        submitted.subjects[0].rank = "Detective Sergeant"
        submitted.subjects[0].station = "Charing Cross Police Station, Agar Street"
        returned = make_report(
            session, ("wiltshire",), status="returned", created_by_id=hana.id,
            reviewed_by_id=sue.id, reviewed_at=datetime.now(UTC),
            return_comment="Say how the caller knows, and what the evidence is.",
        )  # fmt: skip
        sent = make_report(
            session, ("kent",), status="disseminated", created_by_id=hana.id,
            reviewed_by_id=sue.id, reviewed_at=datetime.now(UTC) - timedelta(days=2),
        )  # fmt: skip
        now = datetime.now(UTC)
        session.add(
            Dissemination(
                report_id=sent.id,
                force_id="kent",
                channel="https",
                destination="https://psd.kent.example/reports",
                idempotency_key=uuid.uuid4().hex,
                state="delivered",
                attempts=1,
                delivered_at=now - timedelta(days=1),
                force_outcome="investigation",
                force_outcome_at=now,
            )  # fmt: skip
        )
        test_call = Call(
            call_key=uuid.uuid4().hex, line="helpline", language="en", is_test=True,
            step="queue", status="ended", outcome="answered", force="kent",
            started_at=now - timedelta(minutes=30), queued_at=now - timedelta(minutes=29),
            answered_at=now - timedelta(minutes=25), ended_at=now - timedelta(minutes=10),
            queue_seconds=0,
        )  # fmt: skip
        session.add(test_call)
        session.commit()
        test_report = make_report(session, ("kent",), created_by_id=hana.id, call_id=test_call.id)
        answered = session.scalar(select(Call).where(Call.status == "answered"))
        return {
            "draft": draft.reference,
            "submitted": submitted.reference,
            "returned": returned.reference,
            "sent": sent.reference,
            "test": test_report.reference,
            "call": answered.id,
            "root": session.scalar(select(User.id).where(User.username == "root")),
        }


def _pages(seeded: dict[str, object]) -> dict[str, list[tuple[str, str]]]:
    common = [("account", "/console/account"), ("not-found", "/console/no-such-page")]
    return {
        "handler": [
            ("queue", "/console/queue"),
            ("my-reports", "/console/reports"),
            ("report-draft", f"/console/reports/{seeded['draft']}"),
            ("report-returned", f"/console/reports/{seeded['returned']}"),
            ("report-submitted", f"/console/reports/{seeded['submitted']}"),
            ("report-test", f"/console/reports/{seeded['test']}"),
            *common,
        ],
        "supervisor": [
            ("queue", "/console/queue"),
            ("my-reports", "/console/reports"),
            ("review", "/console/review"),
            ("review-submitted", f"/console/review/{seeded['submitted']}"),
            ("review-sent", f"/console/review/{seeded['sent']}"),
            ("review-test", f"/console/review/{seeded['test']}"),
            ("sanitise", f"/console/review/{seeded['submitted']}/edit"),
            ("calls", "/console/calls?tests=y"),
            ("call", f"/console/calls/{seeded['call']}"),
            ("figures", "/console/figures"),
            ("audit", "/console/audit"),
            ("test-call", "/console/test-call"),
            ("flows", "/console/flows"),
            *common,
        ],
        "admin": [
            ("users", "/console/users"),
            ("user-edit", f"/console/users/{seeded['root']}"),
            ("calls", "/console/calls"),
            ("figures", "/console/figures"),
            ("audit", "/console/audit"),
            ("test-call", "/console/test-call"),
            *common,
        ],
    }


USERS = {"handler": "hana", "supervisor": "sue", "admin": "root"}


def _check(page, name: str, problems: list[str]) -> None:
    overflow = horizontal_overflow(page)
    if overflow > 0:
        problems.append(f"{name}: {overflow} px wider than the window")
    broken = broken_words(page)
    if broken:
        problems.append(f"{name}: words broken inside: {broken}")
    problems += [f"{name}: {line}" for line in axe_violations(page)]
    title = page.title()
    if not title or title.startswith("Console ·"):
        problems.append(f"{name}: the title does not name the page ({title!r})")
    screenshot(page, f"console-{name}")


def test_every_page_fits_a_phone_and_a_desk_and_passes_axe(live_server, browser):
    seeded = _seed(live_server)
    problems: list[str] = []
    for width_name, (width, height) in WIDTHS.items():
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale="en-GB",
            timezone_id="America/New_York",  # the browser's clock must not show through
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(live_server.url + "/console/login")
        _check(page, f"signed-out-login-{width_name}", problems)
        for role, pages in _pages(seeded).items():
            page.goto(live_server.url + "/console/login")
            page.get_by_label("Username").fill(USERS[role])
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            second_step_browser(page, live_server.app, USERS[role])
            page.wait_for_url("**/console/**")
            for name, path in pages:
                response = page.goto(live_server.url + path)
                expected = 404 if name == "not-found" else 200
                if response is None or response.status != expected:
                    status = response.status if response else None
                    problems.append(f"{role}-{name}: HTTP {status}, not {expected}")
                _check(page, f"{role}-{name}-{width_name}", problems)
            context.clear_cookies()
        context.close()
    assert not problems, "\n".join(problems)
