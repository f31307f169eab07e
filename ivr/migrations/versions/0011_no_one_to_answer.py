"""no one to answer: users.availability (available, busy, away) and the call outcomes
closed and no_handler

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AVAILABILITY = ("available", "busy", "away")
OUTCOMES_BEFORE = ("abandoned", "left_queue", "left_for_online", "answered", "failed")
OUTCOMES = (*OUTCOMES_BEFORE, "closed", "no_handler")


def _in(column: str, codes: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(code) for code in codes)})"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("availability", sa.String(length=16), nullable=False, server_default="away")
        )
        batch.add_column(sa.Column("availability_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint(
            op.f("ck_users_availability"), _in("availability", AVAILABILITY)
        )
    with op.batch_alter_table("calls") as batch:
        batch.drop_constraint(op.f("ck_calls_outcome"), type_="check")
        batch.create_check_constraint(op.f("ck_calls_outcome"), _in("outcome", OUTCOMES))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_constraint(op.f("ck_calls_outcome"), type_="check")
        batch.create_check_constraint(op.f("ck_calls_outcome"), _in("outcome", OUTCOMES_BEFORE))
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_availability"), type_="check")
        batch.drop_column("availability_at")
        batch.drop_column("availability")
