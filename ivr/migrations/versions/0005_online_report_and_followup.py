"""online report and follow-up: drafts, rate buckets, report messages, follow-up codes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "online_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("answers_enc", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_online_drafts")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_online_drafts_token_hash")),
    )
    op.create_index(
        op.f("ix_online_drafts_expires_at"), "online_drafts", ["expires_at"], unique=False
    )
    op.create_table(
        "rate_buckets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rate_buckets")),
    )
    op.create_table(
        "report_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reply_to_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_messages_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reply_to_id"],
            ["report_messages.id"],
            name=op.f("fk_report_messages_reply_to_id_report_messages"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_report_messages_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["users.id"], name=op.f("fk_report_messages_reviewed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_messages")),
    )
    op.create_index("ix_report_messages_report", "report_messages", ["report_id", "id"])
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("keypad_reference", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("followup_code_hash", sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column("followup_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("followup_locked_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch.create_unique_constraint(batch.f("uq_reports_keypad_reference"), ["keypad_reference"])


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_constraint("uq_reports_keypad_reference", type_="unique")
        batch.drop_column("followup_locked_until")
        batch.drop_column("followup_failures")
        batch.drop_column("followup_code_hash")
        batch.drop_column("keypad_reference")
    op.drop_index("ix_report_messages_report", table_name="report_messages")
    op.drop_table("report_messages")
    op.drop_table("rate_buckets")
    op.drop_index(op.f("ix_online_drafts_expires_at"), table_name="online_drafts")
    op.drop_table("online_drafts")
