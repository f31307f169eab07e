"""disseminations.force_outcome_to (the force a report was passed on to) and
users.must_change_password (a password an admin set is changed at first sign-in)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("disseminations") as batch:
        batch.add_column(sa.Column("force_outcome_to", sa.String(64), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
    with op.batch_alter_table("disseminations") as batch:
        batch.drop_column("force_outcome_to")
