"""Admins manage accounts, but nobody changes their own role, and every role change is
audited under its own action."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine
from ivr.models import AuditEntry
from tests.console_helpers import add_user, csrf_token, get_user, sign_in


def _edit(client, user_id, **fields):
    token = csrf_token(client, f"/console/users/{user_id}")
    data = {"csrf_token": token, "phone": "", "active": "y", **fields}
    return client.post(f"/console/users/{user_id}", data=data)


def test_an_admin_cannot_change_their_own_role(app, client):
    admin_id = add_user(app, "root", "admin")
    sign_in(client, "root")
    page = _edit(client, admin_id, role="supervisor").get_data(as_text=True)
    assert "You cannot change your own role" in page
    assert get_user(app, admin_id).role == "admin"
    # Still an admin, still signed in, and the review queue stays closed to them.
    assert client.get("/console/users").status_code == 200
    assert client.get("/console/review").status_code == 403


def test_a_role_change_by_another_admin_is_audited(app, client):
    admin_id = add_user(app, "root", "admin")
    user_id = add_user(app, "hana", "handler")
    sign_in(client, "root")
    assert _edit(client, user_id, role="supervisor").status_code == 302
    assert get_user(app, user_id).role == "supervisor"
    with Session(get_engine(app)) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "change_role")
        ).all()
        assert [(e.user_id, e.record_id, e.detail) for e in entries] == [
            (admin_id, str(user_id), {"from": "handler", "to": "supervisor"})
        ]
