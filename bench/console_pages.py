"""How fast the console's pages are with a large history.

Fills a database with 100,000 ended calls and 100,000 reports (two subjects each,
plus their audit entries) and a handful of callers waiting, then times the queue
page, its self-refresh fragment, a report page and "My reports" through the app
(routing, sign-in check, database, templates; no network). Prints figures; never
a pass/fail.

    .venv/bin/python bench/console_pages.py                      # SQLite in a temp dir
    .venv/bin/python bench/console_pages.py --database-url postgresql://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from console_sign_in import sign_in  # beside this file (run as a script)
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, insert, text
from sqlalchemy.orm import Session

from ivr import create_app
from ivr.core.db import get_engine, normalise_url
from ivr.core.migrate import upgrade
from ivr.models import AuditEntry, Call, Report, ReportSubject
from ivr.records.record import REFERENCE_ALPHABET
from ivr.staff.accounts import create_user

FORCES = ["metropolitan", "kent", "west-yorkshire", "greater-manchester", "unknown"]
CATEGORIES = ["bribery", "personal_advantage", "sexual", "domestic_abuse", "discrimination"]
PASSWORD = "benchmark password"


def fill(app, rows: int, waiting: int) -> str:
    rng = random.Random(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    engine = get_engine(app)
    with Session(engine) as session:
        handler = create_user(session, "bench", "handler", PASSWORD, "07912 345678")
        session.commit()
        handler_id = handler.id
    references: list[str] = []
    batch = 5000
    with engine.begin() as conn:
        for offset in range(0, rows, batch):
            calls, reports, subjects, audits = [], [], [], []
            for i in range(offset, min(rows, offset + batch)):
                at = start + timedelta(minutes=7 * i)
                calls.append(
                    {
                        "id": i + 1,
                        "call_key": f"{i:064x}",
                        "line": "helpline",
                        "language": "en",
                        "is_test": False,
                        "step": "queue",
                        "seq": 9,
                        "tries": 0,
                        "preface": [],
                        "answers": {},
                        "force": rng.choice(FORCES),
                        "role": "officer",
                        "category": rng.choice(CATEGORIES),
                        "urgent": rng.random() < 0.1,
                        "anonymous": True,
                        "status": "ended",
                        "outcome": "answered",
                        "handler_id": handler_id,
                        "started_at": at,
                        "queued_at": at + timedelta(seconds=60),
                        "answered_at": at + timedelta(seconds=200),
                        "ended_at": at + timedelta(seconds=900),
                    }
                )
                reference = "".join(rng.choice(REFERENCE_ALPHABET) for _ in range(8))
                reference = f"{reference[:4]}-{reference[4:]}"
                references.append(reference)
                reports.append(
                    {
                        "id": i + 1,
                        "reference": reference,
                        "origin": "call",
                        "call_id": i + 1,
                        "status": rng.choice(["submitted", "approved", "disseminated"]),
                        "urgent": False,
                        "created_by_id": handler_id,
                        "created_at": at,
                        "updated_at": at + timedelta(minutes=30),
                        "categories": [rng.choice(CATEGORIES)],
                        "what": "Something that happened, described at some length. " * 8,
                        "when_text": "Last spring",
                        "when_approximate": True,
                        "where": "Near the station",
                        "how_known": "saw",
                        "risk_now": False,
                        "risk_who": "",
                        "evidence": "Messages on the caller's phone.",
                        "anonymous": True,
                        "extra": {},
                    }
                )
                for position in range(2):
                    subjects.append(
                        {
                            "report_id": i + 1,
                            "position": position,
                            "name": f"Person {position}",
                            "description": "",
                            "rank": "PC",
                            "collar_number": str(1000 + i % 9000),
                            "role": "officer",
                            "force": rng.choice(FORCES),
                            "station": "Central",
                        }
                    )
                for action in ("create", "view", "update", "submit"):
                    audits.append(
                        {
                            "at": at,
                            "user_id": handler_id,
                            "action": action,
                            "record_type": "report",
                            "record_id": reference,
                            "reason": "editing draft" if action == "view" else None,
                            "detail": {},
                        }
                    )
            conn.execute(insert(Call), calls)
            conn.execute(insert(Report), reports)
            conn.execute(insert(ReportSubject), subjects)
            conn.execute(insert(AuditEntry), audits)
        now = datetime.now(UTC)
        conn.execute(
            insert(Call),
            [
                {
                    "id": rows + 1 + j,
                    "call_key": f"w{j:063x}",
                    "live_call_sid": f"CA{j:032x}",
                    "line": "helpline",
                    "language": "en",
                    "is_test": False,
                    "step": "queue",
                    "seq": 9,
                    "tries": 0,
                    "preface": [],
                    "answers": {},
                    "force": rng.choice(FORCES),
                    "role": "staff",
                    "category": rng.choice(CATEGORIES),
                    "urgent": j % 4 == 0,
                    "anonymous": j % 3 != 0,
                    "status": "queued",
                    "started_at": now - timedelta(minutes=10),
                    "queued_at": now - timedelta(seconds=30 * j),
                }
                for j in range(waiting)
            ],
        )
        if engine.dialect.name == "postgresql":
            for table in ("calls", "reports", "report_subjects", "audit_entries"):
                conn.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
                conn.execute(text(f"ANALYZE {table}"))
        else:
            conn.execute(text("ANALYZE"))
    return references[len(references) // 2]


def timed(client, url: str, runs: int) -> list[float]:
    client.get(url)  # warm: templates compiled, connections open
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--waiting", type=int, default=25)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="console-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    if args.database_url:
        with create_engine(normalise_url(url)).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(url)
    app = create_app(
        {
            "database_url": url,
            "twilio_auth_token": "bench-token",
            "secret_key": "b" * 40,
            "contact_key": Fernet.generate_key().decode(),
            "call_gateway": "fake",
        }
    )
    began = time.perf_counter()
    reference = fill(app, args.rows, args.waiting)
    print(
        f"filled {args.rows:,} calls and reports (+{args.waiting} waiting) "
        f"in {time.perf_counter() - began:.0f} s on {get_engine(app).dialect.name}"
    )

    client = app.test_client()
    sign_in(app, client, "bench", PASSWORD)
    for name, path in (
        ("queue page", "/console/queue"),
        ("queue refresh fragment", "/console/queue/rows"),
        ("report page", f"/console/reports/{reference}?why=reading"),
        ("my reports (newest 100)", "/console/reports"),
    ):
        samples = timed(client, path, args.runs)
        ordered = sorted(samples)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        print(
            f"{name:26} median {statistics.median(samples):6.1f} ms   p95 {p95:6.1f} ms   "
            f"max {max(samples):6.1f} ms   ({args.runs} requests)"
        )
    get_engine(app).dispose()


if __name__ == "__main__":
    main()
