"""call log and audit log indexes; what a force did with a dissemination; figure_days

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CALL_INDEXES = {
    "ix_calls_force_started": ["force", "started_at", "id"],
    "ix_calls_category_started": ["category", "started_at", "id"],
    "ix_calls_outcome_started": ["outcome", "started_at", "id"],
}
AUDIT_INDEXES = {
    "ix_audit_at": ["at", "id"],
    "ix_audit_action_at": ["action", "at", "id"],
}


def upgrade() -> None:
    op.create_table(
        "figure_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("line", sa.String(length=64), nullable=False),
        sa.Column("figure", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=140), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "line", "figure", "key", name=op.f("pk_figure_days")),
    )
    op.create_table(
        "figure_days_counted",
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_figure_days_counted")),
    )
    with op.batch_alter_table("calls") as batch:
        for name, columns in CALL_INDEXES.items():
            batch.create_index(name, columns, unique=False)
        batch.create_index(
            "ix_calls_test",
            ["id"],
            unique=False,
            postgresql_where=sa.text("is_test"),
            sqlite_where=sa.text("is_test"),
        )
    with op.batch_alter_table("audit_entries") as batch:
        for name, columns in AUDIT_INDEXES.items():
            batch.create_index(name, columns, unique=False)
    with op.batch_alter_table("disseminations") as batch:
        batch.add_column(sa.Column("force_outcome", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("force_outcome_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_disseminations_delivered", ["delivered_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("disseminations") as batch:
        batch.drop_index("ix_disseminations_delivered")
        batch.drop_column("force_outcome_at")
        batch.drop_column("force_outcome")
    with op.batch_alter_table("audit_entries") as batch:
        for name in AUDIT_INDEXES:
            batch.drop_index(name)
    with op.batch_alter_table("calls") as batch:
        batch.drop_index("ix_calls_test")
        for name in CALL_INDEXES:
            batch.drop_index(name)
    op.drop_table("figure_days_counted")
    op.drop_table("figure_days")
