"""The audit log's reading side: newest first, filters, keyset pages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ivr.core.audit import audit
from ivr.insight.audit_log import AuditFilters, audit_log
from ivr.models import User
from tests.insight.seed import at


@pytest.fixture
def trail(db):
    ann = User(username="ann", password_hash="x", role="supervisor")
    bob = User(username="bob", password_hash="x", role="handler")
    db.add_all([ann, bob])
    db.commit()
    start = at(11, 1, 9)
    made = [
        (bob, "create", "report", 1),
        (bob, "submit", "report", 1),
        (ann, "view", "report", 1),
        (ann, "approve", "report", 1),
        (None, "disclose", "report", 1),
        (bob, "view", "report", 2),
        (ann, "export", "figures", None),
    ]
    for i, (user, action, record_type, record_id) in enumerate(made):
        audit(db, user, action, record_type, record_id, at=start + timedelta(minutes=i))
    # Two entries at the same moment: the page order still total (larger id first).
    audit(db, ann, "view", "report", 2, at=start + timedelta(minutes=6))
    db.commit()
    return made


def described(page):
    return [(r.username, r.action, r.record_type, r.record_id) for r in page.rows]


def test_newest_first_with_who(db, trail):
    rows = described(audit_log(db))
    assert rows[:3] == [
        ("ann", "view", "report", "2"),
        ("ann", "export", "figures", None),
        ("bob", "view", "report", "2"),
    ]
    assert len(rows) == 8
    assert rows[3] == (None, "disclose", "report", "1")  # the delivery worker: no user


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (AuditFilters(username="bob"), [("bob", "view"), ("bob", "submit"), ("bob", "create")]),
        (AuditFilters(username="system"), [(None, "disclose")]),
        (AuditFilters(username="nobody"), []),
        (AuditFilters(action="view"), [("ann", "view"), ("bob", "view"), ("ann", "view")]),
        (AuditFilters(record_type="figures"), [("ann", "export")]),
        (
            AuditFilters(record_type="report", record_id="2"),
            [("ann", "view"), ("bob", "view")],
        ),
        (AuditFilters(username="ann", action="view", record_id="1"), [("ann", "view")]),
    ],
)
def test_filters(db, trail, filters, expected):
    assert [(r.username, r.action) for r in audit_log(db, filters).rows] == expected


def test_pages(db, trail):
    seen, cursor = [], None
    while True:
        page = audit_log(db, older_than=cursor, page_size=3)
        seen += [row.id for row in page.rows]
        if page.older is None:
            break
        cursor = page.older
    everything = [row.id for row in audit_log(db).rows]
    assert seen == everything and len(set(seen)) == 8
