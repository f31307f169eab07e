"""The call log: newest first, each filter, keyset pages, a call's timeline.
Expectations are worked out by hand from tests/insight_seed.py."""

from __future__ import annotations

import pytest

from ivr.insight.call_log import (
    BadCursor,
    CallFilters,
    call_log,
    decode_cursor,
    encode_cursor,
    timeline,
)
from tests.insight.seed import at

NEWEST_FIRST = ["c10", "c9", "c6", "c5", "c4", "c3", "c2", "c1", "c8"]  # c5, c6: same moment


def names(seeded, rows):  # type: ignore[no-untyped-def]
    by_id = {call_id: name for name, call_id in seeded.items()}
    return [by_id[row.id] for row in rows]


def logged(db, seeded, **filters):  # type: ignore[no-untyped-def]
    return names(seeded, call_log(db, CallFilters(**filters), page_size=100).rows)


def test_every_real_call_newest_first(db, seeded):
    page = call_log(db, page_size=100)
    assert names(seeded, page.rows) == NEWEST_FIRST
    assert page.older is None
    # Same start: the larger id first, so the order is total.
    assert seeded["c6"] > seeded["c5"]


def test_test_calls_only_when_asked(db, seeded):
    assert "c7" not in logged(db, seeded)
    assert logged(db, seeded, include_tests=True) == [
        "c10",
        "c9",
        "c7",
        "c6",
        "c5",
        "c4",
        "c3",
        "c2",
        "c1",
        "c8",
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"since": at(11, 1, 0), "until": at(12, 1, 0)}, NEWEST_FIRST[:-1]),
        ({"since": at(11, 12, 11), "until": at(11, 14, 13)}, ["c4", "c3"]),  # until: exclusive
        ({"line": "welsh"}, ["c2"]),
        ({"force": "kent"}, ["c9", "c6", "c1", "c8"]),
        ({"role": "officer"}, ["c9", "c5", "c1", "c8"]),
        ({"category": "bribery"}, ["c6", "c1", "c8"]),
        ({"anonymous": False}, ["c2"]),
        ({"anonymous": True}, ["c9", "c6", "c5", "c1", "c8"]),
        ({"urgent": True}, ["c2"]),
        ({"urgent": False}, [n for n in NEWEST_FIRST if n != "c2"]),
        ({"outcome": "abandoned"}, ["c10", "c4", "c3"]),
        ({"abandoned_step": "role"}, ["c3"]),
        ({"outcome": "abandoned", "abandoned_step": "category"}, ["c10"]),
        ({"outcome": "queued_and_left"}, ["c6", "c2"]),
        ({"outcome": "answered"}, ["c5", "c1", "c8"]),
        ({"outcome": "report"}, ["c5", "c1", "c8"]),
        ({"outcome": "in_progress"}, ["c9"]),
        ({"outcome": "failed"}, []),
        ({"force": "kent", "outcome": "answered"}, ["c1", "c8"]),
        ({"force": "kent", "since": at(11, 1, 0), "category": "bribery"}, ["c6", "c1"]),
    ],
)
def test_filters(db, seeded, filters, expected):
    assert logged(db, seeded, **filters) == expected


def test_unknown_outcome_filter_is_refused(db, seeded):
    with pytest.raises(ValueError):
        call_log(db, CallFilters(outcome="nonsense"))


def test_pages_walk_the_whole_log_once(db, seeded):
    seen, cursor, pages = [], None, 0
    while True:
        page = call_log(db, older_than=cursor, page_size=2)
        seen += names(seeded, page.rows)
        pages += 1
        if page.older is None:
            break
        cursor = page.older
    assert seen == NEWEST_FIRST
    assert pages == 5  # 2+2+2+2+1


def test_a_page_boundary_between_calls_of_the_same_moment(db, seeded):
    first = call_log(db, page_size=3)
    assert names(seeded, first.rows) == ["c10", "c9", "c6"]
    second = call_log(db, older_than=first.older, page_size=3)
    assert names(seeded, second.rows) == ["c5", "c4", "c3"]


def test_filtered_pages(db, seeded):
    first = call_log(db, CallFilters(force="kent"), page_size=3)
    assert names(seeded, first.rows) == ["c9", "c6", "c1"]
    rest = call_log(db, CallFilters(force="kent"), older_than=first.older, page_size=3)
    assert names(seeded, rest.rows) == ["c8"] and rest.older is None


def test_an_exact_page_has_no_older_link(db, seeded):
    page = call_log(db, CallFilters(outcome="abandoned"), page_size=3)
    assert len(page.rows) == 3 and page.older is None


def test_rows_carry_what_the_log_shows(db, seeded):
    rows = {
        name: row for name, row in zip(NEWEST_FIRST, call_log(db, page_size=100).rows, strict=True)
    }
    assert rows["c1"].report_reference == "R1"
    assert rows["c2"].report_reference is None
    assert rows["c2"].line == "welsh" and rows["c2"].urgent is True
    assert rows["c3"].abandoned_step == "role" and rows["c3"].outcome == "abandoned"
    assert rows["c6"].queue_seconds == 400
    assert rows["c1"].started_at == at(11, 10, 9)


def test_cursor_round_trip_and_rejects_forgeries():
    moment = at(11, 14, 13).replace(microsecond=123456)
    assert decode_cursor(encode_cursor(moment, 42)) == (moment, 42)
    for bad in ("", "x.1", "1.x", "1", "99999999999999999999999.1"):
        with pytest.raises(BadCursor):
            decode_cursor(bad)


def test_timeline_of_a_call(db, seeded):
    entries = timeline(db, seeded["c2"])
    assert [(e.step, e.what) for e in entries] == [
        ("", "started"),
        ("force", "chose"),
        ("force_wales", "chose"),
        ("role", "chose"),
        ("category", "chose"),
        ("risk", "chose"),
        ("anonymity", "chose"),
        ("contact_number", "entered"),
        ("contact_confirm", "confirmed"),
        ("queue", "queued"),
        ("queue", "left_queue"),
    ]
    assert entries[0].at == at(11, 11, 10)
    assert [e.at for e in entries] == sorted(e.at for e in entries)


def test_timeline_of_an_abandoned_call_ends_where_the_caller_hung_up(db, seeded):
    entries = timeline(db, seeded["c3"])
    assert [(e.step, e.what) for e in entries][-1] == ("role", "abandoned")


def test_timeline_of_no_call(db, seeded):
    assert timeline(db, 999_999) is None
