"""No save of a report overwrites a version it never saw (issue 13, items 9 to 11): two
tabs of one report, a late autosave after a submit, two supervisors editing one report,
two approvals at once; and text over the limits is refused by name, never cut.

Races are played deterministically: the request that should lose is held just before
its first write to the report until the other has finished (`held_before_writing`),
the interleaving that lost 8 of 20 submitted texts to stale autosaves in the issue."""

from __future__ import annotations

import dataclasses
import html
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.core.runtime import get_core
from ivr.models import AuditEntry, Dissemination, Report
from ivr.records.record import export_report
from tests.console_helpers import CONSOLE_SETTINGS, add_user, csrf_token, sign_in
from tests.records.conftest import make_report, routes_to

POSTCODE_TEXT = "He took £500 in cash behind the flats at SW1A 2AA, every Friday."


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, **CONSOLE_SETTINGS}


@pytest.fixture
def kent(app):
    """Kent reachable (an address no test sends to), so reports about Kent approve."""
    runtime = get_core(app)
    routes = routes_to(runtime.forces, {"kent": ("https", "https://psd.kent.example/helpline")})
    app.extensions["ivr.core"] = dataclasses.replace(runtime, routes=routes)
    return routes


@pytest.fixture
def staff(app):
    return {name: add_user(app, name, role) for name, role in STAFF}


STAFF = (("hana", "handler"), ("sue", "supervisor"), ("sam", "supervisor"))


def signed_in(app, name):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert sign_in(client, name).status_code == 302
    return client


def new_report(app, handler_id, **fields) -> Report:  # type: ignore[no-untyped-def]
    with Session(get_engine(app), expire_on_commit=False) as session:
        return make_report(session, created_by_id=handler_id, **fields)


def stored(app, reference) -> Report:  # type: ignore[no-untyped-def]
    with Session(get_engine(app), expire_on_commit=False) as session:
        report = session.scalars(select(Report).where(Report.reference == reference)).one()
        report.subjects  # noqa: B018 (load them before the session closes)
        return report


def form_on(page: str) -> dict[str, list[str]]:
    """Everything a page's forms would send, as a browser would (text, checked boxes)."""
    data: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="submit"' in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if ('type="checkbox"' in tag or 'type="radio"' in tag) and "checked" not in tag:
            continue
        data.setdefault(name.group(1), []).append(html.unescape(value.group(1)) if value else "")
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', page):
        data[name] = [html.unescape(body.lstrip("\r\n"))]
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', options) or re.search(
            r'<option value="([^"]*)" selected', options
        )
        data[name] = [chosen.group(1) if chosen else ""]
    return data


def opened(client, url) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """A tab: the page's form as it was drawn."""
    response = client.get(url)
    assert response.status_code == 200
    return form_on(response.get_data(as_text=True))


@contextmanager
def held_before_writing(app, thread: threading.Thread | None = None) -> Iterator[Callable]:
    """Holds the first request (on `thread`, else any but this one) that is about to
    write to a report until the test calls `release()`; `wait()` returns once it is held."""
    engine = get_engine(app)
    held, release = threading.Event(), threading.Event()
    me = threading.current_thread()

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        writing = statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))
        about_reports = re.search(r"\b(reports|report_subjects|disseminations)\b", statement)
        current = threading.current_thread()
        if held.is_set() or not (writing and about_reports) or current is me:
            return
        if thread is not None and current is not thread:
            return
        held.set()
        assert release.wait(30), "never released"

    event.listen(engine, "before_cursor_execute", before)

    def control(what: str) -> None:
        if what == "wait":
            assert held.wait(30), "the request never came to write"
        else:
            release.set()

    try:
        yield control
    finally:
        release.set()
        event.remove(engine, "before_cursor_execute", before)


def in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list]:  # type: ignore[type-arg]
    answer: list = []  # type: ignore[type-arg]
    thread = threading.Thread(target=lambda: answer.append(work()))
    return thread, answer


# --- the handler: two tabs, autosave and submit ------------------------------------------


def test_two_tabs_the_second_save_gets_both_versions_and_overwrites_nothing(app, staff):
    report = new_report(app, staff["hana"], status="draft", what="First words.")
    url = f"/console/reports/{report.reference}"
    hana = signed_in(app, "hana")
    tab1, tab2 = opened(hana, url), opened(hana, url)

    tab1.update(what=["Typed in the first tab."], action=["save"])
    assert hana.post(url, data=tab1).status_code == 302
    tab2.update(what=["Typed in the second tab."], where=["By the canal"], action=["save"])
    conflict = hana.post(url, data=tab2)

    assert conflict.status_code == 409
    page = conflict.get_data(as_text=True)
    assert "Not saved: this report was changed after your page was opened" in page
    assert "hana, " in page and "Changed (What happened)" in page  # who saved since, what
    shown = page[page.index('id="difference-what"') :]
    assert shown.index("Typed in the first tab.") < shown.index("Typed in the second tab.")
    assert 'id="difference-where"' in page
    assert stored(app, report.reference).what == "Typed in the first tab."  # not overwritten
    # The form keeps what this tab typed, with the version now stored: saving it again
    # (after merging by hand) is the handler's choice, and it goes through.
    again = form_on(page)
    assert again["what"] == ["Typed in the second tab."] and again["where"] == ["By the canal"]
    assert again["version"] == [str(stored(app, report.reference).version)]
    again["what"] = ["Typed in the first tab. Typed in the second tab."]
    again["action"] = ["save"]
    assert hana.post(url, data=again).status_code == 302
    kept = stored(app, report.reference)
    assert kept.what == "Typed in the first tab. Typed in the second tab."
    assert kept.where == "By the canal"


def test_a_save_that_changes_nothing_is_never_a_conflict(app, staff):
    report = new_report(app, staff["hana"], status="draft", what="First words.")
    url = f"/console/reports/{report.reference}"
    hana = signed_in(app, "hana")
    tab1, tab2 = opened(hana, url), opened(hana, url)
    tab1.update(what=["Typed in the first tab."], action=["save"])
    hana.post(url, data=tab1)
    # The second tab now holds the same text (it reloaded nothing, typed the same).
    tab2.update(what=["Typed in the first tab."], action=["autosave"])
    answer = hana.post(url, data=tab2, headers={"X-Autosave": "1"})
    assert answer.status_code == 204
    assert answer.headers["X-Report-Version"] == str(stored(app, report.reference).version)


def test_an_autosave_gives_back_the_version_its_next_save_names(app, staff):
    report = new_report(app, staff["hana"], status="draft")
    url = f"/console/reports/{report.reference}"
    hana = signed_in(app, "hana")
    tab = opened(hana, url)
    tab.update(what=["Autosaved words, at last long enough."], action=["autosave"])
    answer = hana.post(url, data=tab, headers={"X-Autosave": "1"})
    assert answer.status_code == 204
    tab["version"] = [answer.headers["X-Report-Version"]]  # what static/report.js does
    tab["action"] = ["submit"]
    assert hana.post(url, data=tab).status_code == 302
    assert stored(app, report.reference).status == "submitted"


def test_a_late_autosave_after_the_submit_is_refused_and_says_so(app, staff):
    report = new_report(app, staff["hana"], status="draft", what="Old draft.")
    url = f"/console/reports/{report.reference}"
    hana = signed_in(app, "hana")
    tab = opened(hana, url)
    late = {**tab, "what": ["Old draft, autosaved late."], "action": ["autosave"]}
    tab.update(what=["The text the handler submitted, complete."], action=["submit"])
    tab["subjects-0-name"] = ["PC Subject 0"]
    assert hana.post(url, data=tab).status_code == 302

    answer = hana.post(url, data=late, headers={"X-Autosave": "1"})
    assert answer.status_code == 409
    assert "Autosave has stopped" in answer.get_data(as_text=True)
    kept = stored(app, report.reference)
    assert kept.status == "submitted" and kept.what == "The text the handler submitted, complete."


def test_an_autosave_racing_the_submit_never_replaces_the_submitted_text(app, staff):
    """The autosave reads the draft, then the submit commits, then the autosave comes to
    write: in the issue the stale text won (8 of 20 submitted reports)."""
    report = new_report(app, staff["hana"], status="draft", what="Old draft.")
    url = f"/console/reports/{report.reference}"
    # Two clients of one handler, so the two requests can be in flight at once; both
    # pages were drawn from the same version, as the tab's autosave and submit are.
    hana, hana_too = signed_in(app, "hana"), signed_in(app, "hana")
    tab = opened(hana, url)
    late = {**opened(hana_too, url), "what": ["Old draft, autosaved."], "action": ["autosave"]}
    tab.update(what=["The text the handler submitted, complete."], action=["submit"])
    tab["subjects-0-name"] = ["PC Subject 0"]

    autosave, answers = in_thread(
        lambda: hana_too.post(url, data=late, headers={"X-Autosave": "1"})
    )
    with held_before_writing(app, autosave) as control:
        autosave.start()
        control("wait")  # the autosave has read the draft and is about to write
        assert hana.post(url, data=tab).status_code == 302
        control("release")
        autosave.join(30)

    assert answers[0].status_code == 409
    kept = stored(app, report.reference)
    assert kept.status == "submitted" and kept.what == "The text the handler submitted, complete."


# --- limits -------------------------------------------------------------------------------


def test_text_over_the_limits_is_a_form_error_and_nothing_is_cut(app, staff):
    report = new_report(app, staff["hana"], status="draft", what="As it was.")
    url = f"/console/reports/{report.reference}"
    hana = signed_in(app, "hana")
    tab = opened(hana, url)
    tab.update(what=["w" * 30_000], when_text=["t" * 10_000], action=["save"])
    refused = hana.post(url, data=tab)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Not saved: 2 fields are over the limit." in page
    assert "What happened can be at most 20,000 characters; this is 30,000." in page
    assert "When can be at most 200 characters; this is 10,000." in page
    assert "Draft saved" not in page
    again = form_on(page)
    assert again["what"] == ["w" * 30_000] and again["when_text"] == ["t" * 10_000]  # all kept
    assert stored(app, report.reference).what == "As it was."
    # One-line fields say their limit to the browser as well.
    assert re.search(r'<input[^>]*maxlength="200"[^>]*name="when_text"', page) or re.search(
        r'<input[^>]*name="when_text"[^>]*maxlength="200"', page
    )

    autosaved = hana.post(url, data={**tab, "action": ["autosave"]}, headers={"X-Autosave": "1"})
    assert autosaved.status_code == 422
    assert "What happened can be at most 20,000 characters" in autosaved.get_data(as_text=True)

    people = {f"subjects-{n}-name": [f"PC {n}"] for n in range(25)}
    many = hana.post(url, data={**opened(hana, url), **people, "action": ["save"]})
    assert many.status_code == 422
    assert "at most 20 people; this form has 25" in many.get_data(as_text=True)
    assert len(stored(app, report.reference).subjects) == 1


# --- supervisors --------------------------------------------------------------------------


def test_two_supervisors_editing_one_report_cannot_put_a_postcode_back(app, staff, kent):
    report = new_report(app, staff["hana"], what=POSTCODE_TEXT)
    review, edit = f"/console/review/{report.reference}", f"/console/review/{report.reference}/edit"
    sue, sam = signed_in(app, "sue"), signed_in(app, "sam")
    sue_form, sam_form = opened(sue, edit), opened(sam, edit)
    sam_review = opened(sam, review)  # sam reads the report with the postcode in it

    sue_form.update(what=["He took £500 in cash behind the flats, every Friday."])
    assert sue.post(edit, data=sue_form).status_code == 302
    sam_form.update(where=["Near the station"])  # sam's older form still has the postcode
    conflict = sam.post(edit, data=sam_form)

    assert conflict.status_code == 409
    page = conflict.get_data(as_text=True)
    assert "sue, " in page and "Removed identifying details (What happened)" in page
    assert 'id="difference-what"' in page and "SW1A 2AA" in page  # shown: stored vs sam's
    assert form_on(page)["where"] == ["Near the station"]  # sam's typing kept
    assert "SW1A 2AA" not in stored(app, report.reference).what

    # sam's approve button was drawn from the version with the postcode: refused.
    refused = sam.post(f"{review}/approve", data=sam_review)
    assert refused.status_code == 409
    assert "the report was changed after you opened it" in refused.get_data(as_text=True)
    assert stored(app, report.reference).status == "submitted"
    # Read again, approved: what goes to the force has no postcode.
    assert sam.post(f"{review}/approve", data=opened(sam, review)).status_code == 302
    approved = stored(app, report.reference)
    runtime = get_core(app)
    sent = export_report(approved, runtime.forces, {}, runtime.cipher)
    assert approved.status == "approved" and "SW1A 2AA" not in str(sent)


def test_an_edit_saved_after_the_approval_is_kept_on_screen_not_lost(app, staff, kent):
    report = new_report(app, staff["hana"], what=POSTCODE_TEXT)
    review, edit = f"/console/review/{report.reference}", f"/console/review/{report.reference}/edit"
    sue, sam = signed_in(app, "sue"), signed_in(app, "sam")
    sam_form = opened(sam, edit)
    assert sue.post(f"{review}/approve", data=opened(sue, review)).status_code == 302
    sam_form.update(what=["Sam's careful rewording."])
    late = sam.post(edit, data=sam_form)
    assert late.status_code == 409
    page = late.get_data(as_text=True)
    assert "It can no longer be changed here" in page and "Sam&#39;s careful rewording." in page
    assert stored(app, report.reference).what == POSTCODE_TEXT


def test_two_approvals_at_once_one_goes_through_the_other_is_told_who(app, staff, kent):
    """On SQLite the second approval's deliveries hit the unique key: HTTP 500 (issue 13
    item 11). Both read the report as submitted; the second comes to write after the first."""
    report = new_report(app, staff["hana"])
    review = f"/console/review/{report.reference}"
    sue, sam = signed_in(app, "sue"), signed_in(app, "sam")
    sue_page, sam_page = opened(sue, review), opened(sam, review)

    second, answers = in_thread(lambda: sam.post(f"{review}/approve", data=sam_page))
    with held_before_writing(app, second) as control:
        second.start()
        control("wait")
        assert sue.post(f"{review}/approve", data=sue_page).status_code == 302
        control("release")
        second.join(30)

    answer = answers[0]
    assert answer.status_code == 409
    assert "Not approved again: sue already approved it at" in answer.get_data(as_text=True)
    with Session(get_engine(app)) as session:
        deliveries = session.scalars(select(Dissemination)).all()
        approvals = session.scalars(select(AuditEntry).where(AuditEntry.action == "approve"))
        assert len(deliveries) == 1 and len(approvals.all()) == 1


def test_an_approval_from_a_page_without_a_version_is_refused(app, staff, kent):
    report = new_report(app, staff["hana"])
    sue = signed_in(app, "sue")
    token = csrf_token(sue, "/console/account")
    refused = sue.post(f"/console/review/{report.reference}/approve", data={"csrf_token": token})
    assert refused.status_code == 409
    assert stored(app, report.reference).status == "submitted"
