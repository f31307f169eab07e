"""The database itself refuses a code it does not know, and every datetime comes back aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from ivr.core.db import normalise_url
from ivr.models import (
    Call,
    Dissemination,
    Report,
    ReportMessage,
    ReportStatus,
    ReportSubject,
    StaffRole,
    User,
)

# Every code column (table, column): each must refuse "nonsense".
CODE_COLUMNS = [
    ("calls", "status"),
    ("calls", "outcome"),
    ("reports", "status"),
    ("reports", "origin"),
    ("reports", "how_known"),
    ("report_subjects", "role"),
    ("disseminations", "state"),
    ("disseminations", "channel"),
    ("disseminations", "force_outcome"),
    ("users", "role"),
    ("report_messages", "kind"),
    ("report_messages", "status"),
]


@pytest.fixture
def session(database_url):  # type: ignore[no-untyped-def]
    engine = create_engine(normalise_url(database_url))
    with Session(engine) as session:
        yield session
    engine.dispose()


def _one_of_each(session: Session) -> None:
    user = User(username="sam", password_hash="x", role=StaffRole.HANDLER)
    call = Call(call_key="k" * 64, line="main", language="en", step="welcome")
    session.add_all([user, call])
    session.flush()
    report = Report(reference="HL-TEST-0001", call_id=call.id, created_by_id=user.id)
    report.subjects.append(ReportSubject())
    session.add(report)
    session.flush()
    session.add(
        Dissemination(
            report_id=report.id,
            force_id="met",
            channel="https",
            destination="https://psd.example/in",
            idempotency_key="i" * 64,
        )
    )
    session.add(ReportMessage(report_id=report.id, kind="question", status="open"))
    session.commit()


@pytest.mark.parametrize(("table", "column"), CODE_COLUMNS)
def test_the_database_refuses_an_unknown_code(session, table, column):
    _one_of_each(session)
    # Raw SQL, past the ORM's own check: only the database's CHECK constraint stands in the way.
    with pytest.raises(IntegrityError):
        session.execute(text(f"UPDATE {table} SET {column} = 'nonsense'"))
        session.flush()
    session.rollback()
    # A known code is accepted, so the refusal above was about the value.
    session.execute(text("UPDATE reports SET status = 'submitted'"))
    session.commit()


def test_codes_come_back_as_enum_members_and_unknown_ones_never_reach_sql(session):
    _one_of_each(session)
    report = session.scalars(select(Report)).one()
    assert report.status is ReportStatus.DRAFT
    assert f"{report.status}" == "draft"
    report.status = "vanished"  # type: ignore[assignment]
    with pytest.raises(StatementError, match="not among the defined enum values"):
        session.commit()


def test_times_are_stored_utc_and_read_back_aware(session):
    _one_of_each(session)
    call = session.scalars(select(Call)).one()
    paris = timezone(timedelta(hours=1))
    call.queued_at = datetime(2026, 12, 1, 13, 0, tzinfo=paris)
    session.commit()
    session.expire_all()
    call = session.scalars(select(Call)).one()
    assert call.queued_at == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert call.queued_at.tzinfo is UTC
    assert call.started_at.tzinfo is UTC
    # What is stored is UTC: a comparison in SQL finds the same instant given in another zone.
    found = session.scalars(
        select(Call.id).where(Call.queued_at == datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    ).all()
    assert found == [call.id]


def test_a_naive_time_is_refused(session):
    _one_of_each(session)
    call = session.scalars(select(Call)).one()
    call.queued_at = datetime(2026, 12, 1, 13, 0)
    with pytest.raises(StatementError, match="naive datetime"):
        session.commit()
