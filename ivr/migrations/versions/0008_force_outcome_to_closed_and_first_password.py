"""What the forces did and test reports closed (issue 12): disseminations.force_outcome_to
(the force a report was passed on to), "no_further_action" among the force outcomes,
"closed" among the report statuses (a test call's report), and
users.must_change_password (a password an admin set is changed at first sign-in)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = ("investigation", "passed_to_other_force", "safeguarding", "recorded")
STATUSES = ("draft", "submitted", "returned", "approved", "disseminated")


def _check(batch, table: str, column: str, codes: tuple[str, ...]) -> None:
    name = op.f(f"ck_{table}_{column}")
    batch.drop_constraint(name, type_="check")
    allowed = ", ".join(f"'{code}'" for code in codes)
    batch.create_check_constraint(name, f"{column} IN ({allowed})")


def upgrade() -> None:
    with op.batch_alter_table("disseminations") as batch:
        batch.add_column(sa.Column("force_outcome_to", sa.String(64), nullable=True))
        _check(batch, "disseminations", "force_outcome", (*OUTCOMES, "no_further_action"))
    with op.batch_alter_table("reports") as batch:
        _check(batch, "reports", "status", (*STATUSES, "closed"))
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
    with op.batch_alter_table("reports") as batch:
        _check(batch, "reports", "status", STATUSES)
    with op.batch_alter_table("disseminations") as batch:
        _check(batch, "disseminations", "force_outcome", OUTCOMES)
        batch.drop_column("force_outcome_to")
