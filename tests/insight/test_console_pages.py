"""The console's call log, figures and audit log pages, through the app with a
signed-in supervisor or admin (handlers are refused: tests/handler_console/test_access.py
walks every route), over the hand-made data of tests/insight/seed.py."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from ivr.models import AuditEntry, CountedDay, FigureDay
from tests.console_helpers import add_user, sign_in

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture
def supervisor(app, client):
    add_user(app, "sue", "supervisor")
    assert sign_in(client, "sue").status_code == 302
    return client


def calls_listed(response) -> list[str]:
    """The call ids the log page links to, in page order."""
    page = response.get_data(as_text=True)
    return re.findall(r'href="/console/calls/(\d+)"', page)


def ids(seeded, *names):
    return [str(seeded[name]) for name in names]


def test_the_log_newest_first_without_test_calls(supervisor, seeded):
    response = supervisor.get("/console/calls")
    assert response.status_code == 200
    assert calls_listed(response) == ids(
        seeded, "c10", "c9", "c6", "c5", "c4", "c3", "c2", "c1", "c8"
    )


def test_filters_from_the_query_string(supervisor, seeded):
    cases = {
        "force=kent&outcome=answered": ("c1", "c8"),
        "since=2026-11-12&until=2026-11-13": ("c4", "c3"),
        # c2 is on a line since retired ("welsh" in the seed): the rest are on "helpline".
        "line=helpline": ("c10", "c9", "c6", "c5", "c4", "c3", "c1", "c8"),
        # (the choices are the flow's steps today: role and category are no longer asked)
        "abandoned_step=force": ("c4",),
        "outcome=report": ("c5", "c1", "c8"),
        "anonymous=no": ("c2",),
        "urgent=yes": ("c2",),
        "role=volunteer": ("c6",),
        "category=bribery&since=2026-11-01": ("c6", "c1"),
        "tests=y&force=kent&since=2026-11-15&until=2026-11-15": ("c7",),
    }
    for query, expected in cases.items():
        response = supervisor.get(f"/console/calls?{query}")
        assert response.status_code == 200, query
        assert calls_listed(response) == ids(seeded, *expected), query


def test_bad_filters_get_a_form_error_not_a_traceback(supervisor):
    for query in ("force=atlantis", "since=yesterday", "since=2026-11-20&until=2026-11-01"):
        response = supervisor.get(f"/console/calls?{query}")
        assert response.status_code == 400, query
        page = response.get_data(as_text=True)
        assert "Check the filters" in page and 'class="error"' in page
    response = supervisor.get("/console/calls?older=not-a-cursor")
    assert response.status_code == 200
    assert "That page link is not valid" in response.get_data(as_text=True)


def test_older_links_walk_the_log(app, supervisor, seeded, monkeypatch):
    monkeypatch.setattr("ivr.insight.call_log.PAGE_SIZE", 4)
    seen, url = [], "/console/calls?force=kent&tests=y"
    while url:
        response = supervisor.get(url)
        seen += calls_listed(response)
        found = re.search(r'href="([^"]+)" rel="next"', response.get_data(as_text=True))
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == ids(seeded, "c9", "c7", "c6", "c1", "c8")


def test_a_calls_timeline(supervisor, seeded):
    response = supervisor.get(f"/console/calls/{seeded['c3']}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Which force: London and South East" in page
    assert "Hung up in the call flow: Their role" in page
    assert "force_london_south_east" not in page and "(UK time)" in page
    assert supervisor.get("/console/calls/999999").status_code == 404


def test_figures_page_shows_each_figure_and_chart(supervisor):
    response = supervisor.get("/console/figures?since=2026-11-01&until=2026-11-30")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    shown = dict(re.findall(r'data-figure="(\w+)">([\d,]+)<', page))
    assert shown["calls"] == "8"
    assert shown["online_reports"] == "3"
    assert shown["intelligence_passed"] == "3"
    assert shown["investigations"] == "1"
    assert shown["passed_to_other_forces"] == "1"
    assert (shown["answered"], shown["abandoned"], shown["queued_and_left"]) == ("2", "3", "2")
    assert page.count("<svg") == 6
    assert "Callers reaching each step" in page and "8 reached, 1 hung up" in page
    assert "90 s / 400 s" in page
    # The English/Welsh split and calls over time, by UK day for a month.
    assert (shown["calls_en"], shown["calls_cy"]) == ("7", "1")
    assert "Calls by day (UK days)" in page and 'Sat 14 Nov 2026</th><td class="num">2<' in page
    assert "1 Nov 2026 to 30 Nov 2026 (UK days)" in page
    # Step names as callers know them in the funnel, not codes.
    assert "Which force" in page and ">force_confirm<" not in page
    year = supervisor.get("/console/figures?since=2026-01-01&until=2026-12-31").get_data(
        as_text=True
    )
    assert "Calls by week (weeks starting Monday, UK days)" in year


def test_the_figures_pages_only_read(supervisor, db):
    """GET never writes figures: the settled November days used to be rolled up (and
    committed) by whoever opened the page first; the roll-up runs in `ivr deliver` and
    `ivr purge` now, and a day not rolled up is counted from the calls."""
    for url in ("/console/figures", "/console/figures.csv"):
        response = supervisor.get(f"{url}?since=2026-11-01&until=2026-11-30")
        assert response.status_code == 200
    for table in (FigureDay, CountedDay):
        assert db.scalar(select(func.count()).select_from(table)) == 0


def test_figures_for_one_force(supervisor):
    response = supervisor.get(
        "/console/figures?since=2026-11-01&until=2026-11-30&force=metropolitan"
    )
    page = response.get_data(as_text=True)
    shown = dict(re.findall(r'data-figure="(\w+)">([\d,]+)<', page))
    assert (shown["intelligence_passed"], shown["passed_to_other_forces"]) == ("2", "1")


def test_figures_bad_dates(supervisor):
    response = supervisor.get("/console/figures?since=2026-12-01&until=2026-11-01")
    assert response.status_code == 400
    assert "The end date is before the start date." in response.get_data(as_text=True)
    assert supervisor.get("/console/figures.csv?until=never").status_code == 400


def test_csv_download_is_audited(app, supervisor, db):
    response = supervisor.get("/console/figures.csv?since=2026-11-01&until=2026-11-30")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "helpline-figures-2026-11-01-2026-11-30.csv" in response.headers["Content-Disposition"]
    rows = {(r[0], r[1]): r[2] for r in csv.reader(io.StringIO(response.get_data(as_text=True)))}
    assert rows[("calls", "")] == "8" and rows[("funnel_reached", "queue")] == "5"
    # The announcement's table, calls by UK day and week, and by language.
    assert rows[("announcement:calls", "all forces")] == "8"
    assert rows[("announcement:investigations", "all forces")] == "1"
    assert rows[("calls_by_day", "2026-11-14")] == "2"
    assert rows[("calls_by_language", "Welsh")] == "1"
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "export"))
    assert entry is not None and entry.record_type == "figures"
    assert entry.detail == {
        "since": "2026-11-01",
        "until": "2026-11-30",
        "line": None,
        "force": None,
    }


def test_the_csv_names_the_uk_days_chosen_in_summer_too(supervisor):
    """The period row is the UK days asked for: July's first UK day starts at 23:00 UTC
    on 30 June, and the row said "2027-06-30 to 2027-07-31"."""
    for since, until in (("2027-07-01", "2027-07-31"), ("2026-11-01", "2026-11-30")):
        response = supervisor.get(f"/console/figures.csv?since={since}&until={until}")
        rows = {
            (r[0], r[1]): r[2] for r in csv.reader(io.StringIO(response.get_data(as_text=True)))
        }
        assert rows[("period", "")] == f"{since} to {until}"


def test_audit_log_page_filters(app, supervisor, db):
    supervisor.get("/console/figures.csv?since=2026-11-01&until=2026-11-30")
    response = supervisor.get("/console/audit?user=sue")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<td>Exported</td>" in html
    # The detail in words, not a Python dict; the period's days as typed.
    assert "From: 2026-11-01" in html and "{" not in html.split('id="audit"')[1]
    nobody = supervisor.get("/console/audit?user=nobody").get_data(as_text=True)
    assert "No entries match." in nobody
    views = supervisor.get("/console/audit?action=view").get_data(as_text=True)
    assert "<td>Exported</td>" not in views
    # Actions are a choice, not exact text: a value that is not one is a form error.
    assert '<option value="approve">Approved</option>' in html
    assert supervisor.get("/console/audit?action=approved").status_code == 400
    exported = supervisor.get("/console/audit?action=export").get_data(as_text=True)
    assert "<td>Exported</td>" in exported


def test_audit_log_filters_by_uk_day(app, supervisor, db):
    from ivr.core.audit import audit
    from ivr.models import User

    sue = db.scalar(select(User).where(User.username == "sue"))
    # 23:30 UTC on 30 June is 00:30 BST on 1 July: a UK day of July, not June.
    audit(db, sue, "export", "figures", None, at=datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    db.commit()
    june = supervisor.get("/console/audit?since=2026-06-30&until=2026-06-30").get_data(as_text=True)
    july = supervisor.get("/console/audit?since=2026-07-01&until=2026-07-01").get_data(as_text=True)
    assert "No entries match." in june
    assert "1 Jul 2026, 00:30:00 BST" in july


def test_admins_see_the_pages_too(app):
    add_user(app, "ada", "admin")
    client = app.test_client()
    sign_in(client, "ada")
    for url in ("/console/calls", "/console/figures", "/console/audit"):
        assert client.get(url).status_code == 200, url
