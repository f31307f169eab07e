"""Alembic, driven from code: `ivr db upgrade` and the tests use the same path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config

from ivr.core.settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
# Past its statement timeout a migration's statement is cut off by the client this much
# later: the server, when it answers at all, says so first (ivr/core/no_answer.py).
NO_ANSWER_MARGIN_SECONDS = 5


@dataclass(frozen=True)
class MigrationLimits:
    """How long a migration's statement may run, and wait for a lock, on PostgreSQL."""

    statement_seconds: int
    lock_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> MigrationLimits:
        return cls(
            settings.migration_statement_timeout_seconds, settings.migration_lock_timeout_seconds
        )


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(
    database_url: str, revision: str = "head", limits: MigrationLimits | None = None
) -> None:
    """Migrate to `revision`. Without `limits` (the tests' databases) a statement has no
    time limit and a lock wait the app's (ivr/migrations/env.py)."""
    config = alembic_config(database_url)
    config.attributes["limits"] = limits
    command.upgrade(config, revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
