"""erasure outbox: the CallSid's keyed digest, to know a repeated final status callback

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 20:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("twilio_erasures") as batch:
        batch.add_column(sa.Column("call_sid_digest", sa.String(64), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_twilio_erasures_call_sid_digest"), ["call_sid_digest"]
        )


def downgrade() -> None:
    with op.batch_alter_table("twilio_erasures") as batch:
        batch.drop_constraint(op.f("uq_twilio_erasures_call_sid_digest"), type_="unique")
        batch.drop_column("call_sid_digest")
