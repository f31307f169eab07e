"""statuses, roles and outcomes checked by the database (ivr/models/enums.py)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:00:00

The codes are written out here, not imported from the enums: a migration
says what the schema was at its revision, whatever the enums become later
(a new code comes with its own migration that widens the check).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> column -> the codes it may hold (NULL stays allowed where the column allows it).
CODES: dict[str, dict[str, tuple[str, ...]]] = {
    "calls": {
        "status": ("in_flow", "queued", "answered", "ended"),
        "outcome": ("abandoned", "left_queue", "left_for_online", "answered", "failed"),
    },
    "reports": {
        "origin": ("call", "online"),
        "status": ("draft", "submitted", "returned", "approved", "disseminated"),
        "how_known": ("saw", "told", "affected"),
    },
    "report_subjects": {"role": ("officer", "staff", "volunteer", "unknown")},
    "disseminations": {
        "channel": ("https", "email"),
        "state": ("pending", "delivered", "redirected"),
        "force_outcome": ("investigation", "passed_to_other_force", "safeguarding", "recorded"),
    },
    "users": {"role": ("handler", "supervisor", "admin")},
    "report_messages": {
        "kind": ("question", "answer", "addition"),
        "status": ("open", "answered", "submitted", "approved", "returned"),
    },
}


def upgrade() -> None:
    for table, columns in CODES.items():
        with op.batch_alter_table(table) as batch:
            for column, codes in columns.items():
                allowed = ", ".join(f"'{code}'" for code in codes)
                name = op.f(f"ck_{table}_{column}")
                batch.create_check_constraint(name, f"{column} IN ({allowed})")


def downgrade() -> None:
    for table, columns in CODES.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
