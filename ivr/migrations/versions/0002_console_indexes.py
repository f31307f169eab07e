"""indexes for the console's pages: a report's subjects, a handler's reports

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 17:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report_subjects", schema=None) as batch_op:
        batch_op.create_index(
            "ix_report_subjects_report_id", ["report_id", "position"], unique=False
        )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reports_created_by", ["created_by_id", "updated_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_created_by")
    with op.batch_alter_table("report_subjects", schema=None) as batch_op:
        batch_op.drop_index("ix_report_subjects_report_id")
