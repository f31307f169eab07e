"""Everything a database holds, as one text, for the tests that promise something is
stored nowhere (anonymity, no addresses, purges): every value of every row of every
table, and on SQLite the database's files themselves (free pages and the write-ahead
log included), so a value deleted but still on disk is found too."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine, select
from sqlalchemy.engine import make_url

from ivr.core.db import normalise_url


def everything_stored(where: Engine | str, files: bool = True) -> str:
    """`where`: an engine, or a database URL (an engine is made and closed)."""
    engine = create_engine(normalise_url(where)) if isinstance(where, str) else where
    metadata = MetaData()
    metadata.reflect(engine)
    assert "calls" in metadata.tables and "audit_entries" in metadata.tables
    parts = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    parts.append(f"{table.name}: {_text(value)}")
    if isinstance(where, str):
        engine.dispose()
    if files and engine.dialect.name == "sqlite":
        path = Path(make_url(engine.url).database or "")
        for file in sorted(path.parent.glob(path.name + "*")):
            parts.append(file.read_bytes().decode("latin-1"))
    return "\n".join(parts)


def _text(value: object) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
