"""Plain words on the console's pages: a call's timeline in the order the caller lived
it ("Answered" once), the real wait of an answered call, no raw codes; the queue's
category as the console names it and as the caller heard it; the call log's
language column and filter, and its CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.models import AuditEntry, Call, utcnow
from tests.conftest import walk
from tests.console_helpers import CONSOLE_SETTINGS, add_user, csrf_token, queue_a_caller, sign_in


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, **CONSOLE_SETTINGS}


def test_queue_words_timeline_order_and_the_real_wait(app, client, new_call):
    add_user(app, "sue", "supervisor")
    queue_a_caller(new_call, force="kent", category="domestic_abuse")
    sign_in(client, "sue")
    queue = client.get("/console/queue").get_data(as_text=True)
    assert "Kent Police" in queue and ">kent<" not in queue
    assert ">en<" not in queue and "English" in queue
    with Session(get_engine(app)) as session:
        call = session.scalar(select(Call))
        # Answered after five minutes' wait, kept by our own clock (Twilio's QueueTime for
        # a redirected call is 0: ivr/voice/call_end.py, queue_wait).
        call.queued_at = utcnow() - timedelta(minutes=5)
        call.answered_at = utcnow()
        call.ended_at = utcnow() + timedelta(minutes=10)
        call.status, call.outcome, call.queue_seconds = "ended", "answered", 300
        session.commit()
        call_id = call.id
    page = client.get(f"/console/calls/{call_id}").get_data(as_text=True)
    timeline = page[
        page.index('id="timeline"') : page.index("</table>", page.index('id="timeline"'))
    ]
    order = re.findall(r"<td>([^<]+)</td><td>([^<]*)</td><td>([^<]*)</td>", timeline)
    events = [what for _step, what, _answer in order]
    assert events.index("Joined the queue") > max(
        i for i, (step, _w, _a) in enumerate(order) if step == "Stay anonymous?"
    )
    assert events.count("Answered by a handler") == 1 and events[-1] == "Call ended"
    assert ("Which force", "Chose", "A list of regions") in order
    assert ("Which force: list of regions", "Chose", "Region: London and South East") in order
    assert ("Which force: London and South East", "Chose", "Kent Police") in order
    assert ("Choosing English or Welsh", "Chose", "Language: English") in order
    assert ("Their role", "Chose", "Officer or special constable") in order
    assert ("What it is about", "Chose", "Domestic abuse or control") in order
    assert ("Anyone at risk now", "Chose", "No") in order
    # Never a bare key, nor a region's key read as a force ("Unknown force").
    assert "Unknown force" not in page
    assert not [answer for _s, _w, answer in order if answer.strip().isdigit()]
    assert "5 min 0 s" in page and "Waited 0 s" not in page
    for code in ("in_flow", "force_london_south_east", "domestic_abuse", ">kent<", "True"):
        assert code not in page, code


def test_the_call_log_has_a_language_column_filter_and_csv(app, client, new_call):
    add_user(app, "sue", "supervisor")
    queue_a_caller(new_call)
    welsh = new_call(to_number="+448000850001")
    walk(welsh, start="welcome", language="cy", force="dyfed-powys")
    sign_in(client, "sue")
    both = client.get("/console/calls").get_data(as_text=True)
    assert "<th>Language</th>" in both
    assert both.count("<td>Welsh</td>") == 1 and both.count("<td>English</td>") == 1
    only_welsh = client.get("/console/calls?language=cy").get_data(as_text=True)
    assert only_welsh.count("<td>Welsh</td>") == 1 and "<td>English</td>" not in only_welsh
    response = client.get("/console/calls.csv?language=cy")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["started (UK time)", "line", "language"]
    assert len(rows) == 2 and rows[1][2] == "Welsh" and rows[1][3] == "Dyfed-Powys Police"
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (GMT|BST)$", rows[1][0])
    with Session(get_engine(app)) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "export"))
        assert entry.record_type == "calls" and entry.detail == {"language": "cy"}


def test_an_answered_calls_wait_outlives_the_hour(app, client, new_call):
    # Once the call has ended its times are on the hour (ivr/voice/call_end.py): the
    # wait must be what was kept of it, not the gap between two rounded times.
    add_user(app, "hana", "handler")
    caller = queue_a_caller(new_call)
    with Session(get_engine(app)) as session:
        call = session.scalar(select(Call))
        call.queued_at = utcnow() - timedelta(minutes=5)  # waited five minutes
        session.commit()
        call_id = call.id
    sign_in(client, "hana")
    token = csrf_token(client, "/console/queue")
    assert client.post("/console/queue/take-next", data={"csrf_token": token}).status_code == 302
    caller.hang_up(duration=600)
    with Session(get_engine(app)) as session:
        ended = session.get(Call, call_id)
        assert ended.status == "ended" and ended.answered_at.minute == 0
        assert ended.queue_seconds == 300  # 5 minutes, on the histogram's 10-second step
    add_user(app, "sue", "supervisor")  # who sees the call log
    supervisor = app.test_client()
    sign_in(supervisor, "sue")
    page = supervisor.get(f"/console/calls/{call_id}").get_data(as_text=True)
    assert "5 min 0 s" in page
    logged = supervisor.get("/console/calls.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(logged)))
    assert rows[1][rows[0].index("waited (seconds)")] == "300"
