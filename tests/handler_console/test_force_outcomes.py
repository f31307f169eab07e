"""What the forces did: a supervisor records each delivery's outcome from the force's
reply (audited), or the force posts it to /forces/outcome, signed with its own
delivery secret, timestamped, a replay refused; the figures count them."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.core.runtime import get_core
from ivr.insight.figures import announcement_figures
from ivr.insight.period import Period
from ivr.models import AuditEntry, Dissemination
from ivr.records.force_outcomes import sign_reply
from tests.console_helpers import CONSOLE_SETTINGS, add_user, csrf_token, sign_in
from tests.records.conftest import SECRET, make_report, routes_to


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, **CONSOLE_SETTINGS}


@pytest.fixture
def delivered(app):
    runtime = get_core(app)
    routes = routes_to(runtime.forces, {"kent": ("https", "https://psd.kent.example/in")})
    app.extensions["ivr.core"] = dataclasses.replace(runtime, routes=routes)
    with Session(get_engine(app), expire_on_commit=False) as session:
        report = make_report(session, ("kent",), status="disseminated")
        row = Dissemination(
            report_id=report.id,
            force_id="kent",
            channel="https",
            destination="https://psd.kent.example/in",
            idempotency_key=uuid.uuid4().hex,
            state="delivered",
            attempts=1,
            delivered_at=datetime.now(UTC) - timedelta(hours=1),
        )
        session.add(row)
        session.commit()
        return report.reference, row.id, row.idempotency_key


def _stored(app, row_id):
    with Session(get_engine(app)) as session:
        row = session.get(Dissemination, row_id)
        return row.force_outcome, row.force_outcome_to


def test_a_supervisor_records_what_the_force_did(app, client, delivered):
    reference, row_id, _key = delivered
    add_user(app, "sue", "supervisor")
    sign_in(client, "sue")
    url = f"/console/review/{reference}"
    page = client.get(url).get_data(as_text=True)
    assert "What the forces did" in page and "Record what Kent Police did" in page
    token = csrf_token(client, url)
    # Passed on, but to which force? Refused, nothing recorded.
    refused = client.post(
        url + "/outcome",
        data={"csrf_token": token, "delivery": row_id, "outcome": "passed_to_other_force"},
    )
    assert "Say which force it was passed to." in refused.get_data(as_text=True)
    assert _stored(app, row_id) == (None, None)
    done = client.post(
        url + "/outcome",
        data={
            "csrf_token": token,
            "delivery": row_id,
            "outcome": "passed_to_other_force",
            "passed_to": "essex",
            "note": "PSD letter of 20 Nov",
        },
    )
    assert done.status_code == 302
    assert _stored(app, row_id) == ("passed_to_other_force", "essex")
    page = client.get(url).get_data(as_text=True)
    assert "Passed to another force: Essex Police" in page
    with Session(get_engine(app)) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "force_outcome")
        ).one()
        assert entry.reason == "PSD letter of 20 Nov" and entry.detail["passed_to"] == "essex"
        today = datetime.now(UTC).date()
        counted = announcement_figures(
            session, Period.of_days(today - timedelta(days=1), today), force="kent"
        )
        assert counted.passed_to_other_forces == 1 and counted.investigations == 0
    # "No further action" replaces it; "Not yet known" clears it.
    for outcome, expected in (("no_further_action", "no_further_action"), ("not_known", None)):
        client.post(
            url + "/outcome", data={"csrf_token": token, "delivery": row_id, "outcome": outcome}
        )
        assert _stored(app, row_id) == (expected, None)


def _post(client, body: dict, timestamp: int | None = None, secret: str = SECRET):
    raw = json.dumps(body).encode()
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    return client.post(
        "/forces/outcome",
        data=raw,
        headers={
            "Content-Type": "application/json",
            "X-Helpline-Timestamp": stamp,
            "X-Helpline-Signature": sign_reply(secret, stamp, raw),
        },
    )


def test_a_force_posts_its_outcome_signed_and_a_replay_is_refused(app, client, delivered):
    _reference, row_id, key = delivered
    body = {"delivery": key, "outcome": "investigation", "note": "Ref PSD/123"}
    now = int(time.time())
    assert _post(client, body, secret="x" * 40).status_code == 401  # not Kent's secret
    assert _post(client, body, timestamp=now - 3600).status_code == 401  # too old
    assert _post(client, {**body, "delivery": "nope"}).status_code == 404
    assert _post(client, {"outcome": "investigation"}).status_code == 400
    answer = _post(client, body, timestamp=now)
    assert answer.status_code == 200 and answer.get_json() == {"recorded": "investigation"}
    assert "Set-Cookie" not in answer.headers
    assert _stored(app, row_id) == ("investigation", None)
    # The same request again, byte for byte: refused, nothing changes.
    assert _post(client, body, timestamp=now).status_code == 409
    later = _post(client, {**body, "outcome": "passed_to_other_force", "passed_to": "essex"},
                  timestamp=now + 1)  # fmt: skip
    assert later.status_code == 200
    assert _stored(app, row_id) == ("passed_to_other_force", "essex")
    with Session(get_engine(app)) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "force_outcome")
        ).all()
        assert [e.user_id for e in entries] == [None, None]
        assert [e.detail["reported_by"] for e in entries] == ["kent", "kent"]
