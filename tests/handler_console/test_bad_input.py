"""Bad input gets a clear answer, never HTTP 500: dates past any record, ids past the
integer range, NUL characters (which PostgreSQL refuses in text)."""

from __future__ import annotations

import pytest

from tests.console_helpers import add_user, sign_in


@pytest.fixture
def supervisor(app, client):  # type: ignore[no-untyped-def]
    add_user(app, "sue", "supervisor")
    assert sign_in(client, "sue").status_code == 302
    return client


@pytest.mark.parametrize("page", ["/console/calls", "/console/figures", "/console/figures.csv"])
@pytest.mark.parametrize("dates", ["until=9999-12-31", "since=0001-01-01", "since=9999-12-31"])
def test_dates_past_any_record_are_a_form_error(supervisor, page, dates):
    response = supervisor.get(f"{page}?{dates}")
    assert response.status_code in (200, 400)
    if page != "/console/calls":
        assert response.status_code == 400
    assert "Choose a date between 2000 and 2099" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        "/console/calls/99999999999999999999",
        f"/console/calls/{2**53}",  # a call's id is 64-bit, drawn below 2**53
        "/console/calls/2147483648",  # no such call
        "/console/calls/0",
        "/console/users/2147483648",  # every other id is 32-bit
    ],
)
def test_an_id_past_the_integer_range_is_not_found(supervisor, url):
    assert supervisor.get(url).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/console/audit?user=sue%00",
        "/console/calls?force=kent%00",
        "/console/reports/HL-2026%00-0001",
    ],
)
def test_a_nul_character_in_a_link_is_refused_plainly(supervisor, url):
    response = supervisor.get(url)
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)


def test_a_nul_character_in_a_form_is_refused_plainly(supervisor):
    response = supervisor.post("/console/reports/HL-0000-0000", data={"what": "cash\x00"})
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
