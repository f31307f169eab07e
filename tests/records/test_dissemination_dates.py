"""What leaves the charity about a report carries dates, not times of day: its moments
follow the call's within seconds, and the force being reported on could match them with
phone records of calls to the line."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import jsonschema

from ivr.core.settings import PROJECT_ROOT
from ivr.records.delivery import Deliverer
from ivr.records.review import approve
from tests.records.conftest import delivery_settings, make_report, make_user, routes_to

SCHEMA = json.loads((PROJECT_ROOT / "schemas" / "report.schema.json").read_text())
# Half past eleven at night in UTC is already the next day in the UK in summer.
ANSWERED = datetime(2026, 7, 1, 23, 30, 12, 345678, tzinfo=UTC)
TIME_OF_DAY = re.compile(r"\d{2}:\d{2}|T\d{2}|\.\d{3,6}")


def test_an_anonymous_reports_dissemination_carries_dates_only(
    sessions, session, forces, cipher, clock, force_server
):
    routes = routes_to(forces, {"kent": ("https", force_server.url)})
    report = make_report(session)
    report.created_at = ANSWERED
    report.submitted_at = ANSWERED.replace(minute=52)
    session.commit()
    approve(session, report, make_user(session), routes, now=clock())
    assert Deliverer(sessions, routes, cipher, delivery_settings(), clock).run_once().delivered

    (sent,) = force_server.acknowledged
    record = json.loads(sent["body"])
    jsonschema.validate(record, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert record["reporter"] == {"anonymous": True}
    assert (record["created_at"], record["submitted_at"]) == ("2026-07-02", "2026-07-02")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", record["approved_at"])
    # Nothing anywhere in the body is a time of day or a fraction of a second.
    moments = [record["created_at"], record["submitted_at"], record["approved_at"]]
    assert not any(TIME_OF_DAY.search(m) for m in moments)
    body = sent["body"].decode()
    for needle in ("23:30", "345678", "12.345", ":52"):
        assert needle not in body


def test_the_schema_says_dates():
    for name in ("created_at", "submitted_at", "approved_at"):
        assert SCHEMA["properties"][name]["format"] == "date", name
