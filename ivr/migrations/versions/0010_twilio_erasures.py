"""twilio_erasures: the outbox of ended calls whose Twilio record is to be deleted

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "twilio_erasures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_sid_enc", sa.LargeBinary(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_twilio_erasures")),
    )
    op.create_index("ix_twilio_erasures_due", "twilio_erasures", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_twilio_erasures_due", table_name="twilio_erasures")
    op.drop_table("twilio_erasures")
