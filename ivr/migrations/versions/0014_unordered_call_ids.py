"""calls and call events: ids drawn at random (ivr/models/calls.py, `unordered_id`), so
64-bit on PostgreSQL (SQLite's INTEGER is 64-bit already)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every column that holds a call's or a step event's id.
COLUMNS = (
    ("calls", "id"),
    ("call_events", "id"),
    ("call_events", "call_id"),
    ("reports", "call_id"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    # Ids drawn since the upgrade do not fit 32 bits: there is no way back for them.
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger())
