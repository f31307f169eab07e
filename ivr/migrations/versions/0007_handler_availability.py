"""users.availability: who is there to answer (available, busy, away)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("availability", sa.String(length=16), nullable=False, server_default="away")
        )
        batch.add_column(sa.Column("availability_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("availability_at")
        batch.drop_column("availability")
