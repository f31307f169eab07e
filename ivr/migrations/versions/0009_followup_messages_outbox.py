"""follow-up messages: the force a question came from; the outbox for updates

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report_messages") as batch:
        batch.add_column(sa.Column("force_id", sa.String(length=64), nullable=True))
    op.create_table(
        "update_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("destination", sa.String(length=500), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["report_messages.id"],
            name=op.f("fk_update_deliveries_message_id_report_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_update_deliveries")),
        # The codes written out (see 0006): what the schema was at this revision.
        sa.CheckConstraint(
            "channel IN ('https', 'email')", name=op.f("ck_update_deliveries_channel")
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'redirected')",
            name=op.f("ck_update_deliveries_state"),
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_update_deliveries_idempotency_key")),
        sa.UniqueConstraint(
            "message_id", "force_id", name=op.f("uq_update_deliveries_message_id_force_id")
        ),
    )
    op.create_index("ix_update_deliveries_due", "update_deliveries", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_update_deliveries_due", table_name="update_deliveries")
    op.drop_table("update_deliveries")
    with op.batch_alter_table("report_messages") as batch:
        batch.drop_column("force_id")
