"""How fast the call log and the figures are with a million calls in PostgreSQL.

Creates a fresh database on the server (default 127.0.0.1:5432, user postgres),
migrates it, seeds 1,000,000 calls over two years with their step events
(~4.5 million), ~24,000 reports, their deliveries and 300,000 audit entries
with generate_series (minutes, not the hours the ORM would take), then times:

- a call-log page (50 rows): unfiltered and filtered, the first page and a deep
  one (a year back, reached by its keyset cursor): target < 100 ms;
- an audit-log page, the same way;
- counting the settled days' call figures into figure_days (once);
- the figures for the last year (and for both years): target < 500 ms;
- each part of the figures, to show where the time goes;
- then the real pages through the Flask app, signed in as a supervisor.

The database is dropped at the end. Prints figures; never a pass/fail.

    .venv/bin/python bench/call_log_and_figures.py [--calls 1000000] [--keep]
        [--server postgresql://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

from console_sign_in import sign_in  # beside this file (run as a script)
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from ivr import create_app
from ivr.core.db import get_engine, normalise_url
from ivr.core.migrate import upgrade
from ivr.insight.audit_log import AuditFilters, audit_log
from ivr.insight.call_log import CallFilters, call_log, encode_cursor
from ivr.insight.figure_queries import call_counts
from ivr.insight.figures import (
    Figures,
    _disseminations,
    _reports,
    announcement_figures,
    figures,
)
from ivr.insight.period import Period
from ivr.insight.roll_up import roll_up_settled
from ivr.models import Base, User
from ivr.staff.accounts import create_user

END = datetime(2026, 11, 28, tzinfo=UTC)
PASSWORD = "benchmark password 0123"
PATH = ["force", "force_london_south_east", "role", "category", "risk", "anonymity"]
STEP_ORDER = [*PATH, "queue"]
FORCES = [
    "metropolitan",
    "kent",
    "west-yorkshire",
    "greater-manchester",
    "west-midlands",
    "thames-valley",
    "merseyside",
    "avon-and-somerset",
    "dyfed-powys",
    "police-scotland",
    "unknown",
]
CATEGORIES = [
    "bribery",
    "personal_advantage",
    "sexual",
    "domestic_abuse",
    "discrimination",
    "other",
    "unknown",
]


def sql_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


SEED_CALLS = f"""
INSERT INTO calls (id, call_key, line, language, is_test, step, seq, tries, preface, answers,
    force, role, category, urgent, anonymous, status, outcome, abandoned_step,
    started_at, queued_at, answered_at, ended_at, duration_seconds, queue_seconds)
SELECT g, md5(g::text),
    CASE WHEN r.line < 0.05 THEN 'welsh' ELSE 'helpline' END,
    CASE WHEN r.line < 0.05 THEN 'cy' ELSE 'en' END,
    r.test < 0.001,
    CASE WHEN k.queued THEN 'queue' ELSE coalesce(k.abandoned_step, 'force') END,
    k.reached, 0, '[]', '{{}}',
    CASE WHEN k.reached >= 2 THEN ({sql_array(FORCES)})[1 + floor(r.force * 11)] END,
    CASE WHEN k.reached >= 3
        THEN (ARRAY['officer', 'staff', 'volunteer', 'unknown'])[1 + floor(r.role * 4)] END,
    CASE WHEN k.reached >= 4 THEN ({sql_array(CATEGORIES)})[1 + floor(r.category * 7)] END,
    k.reached >= 5 AND r.urgent < 0.08,
    CASE WHEN k.reached >= 6 THEN r.anonymous < 0.75 END,
    CASE WHEN g > :calls - 40 THEN 'queued' ELSE 'ended' END,
    CASE WHEN g > :calls - 40 THEN NULL ELSE k.outcome END,
    k.abandoned_step,
    k.started_at,
    CASE WHEN k.queued THEN k.started_at + interval '95 seconds' END,
    CASE WHEN k.outcome = 'answered' THEN k.started_at + make_interval(secs => 95 + k.wait) END,
    CASE WHEN g <= :calls - 40 THEN k.started_at + make_interval(secs => 95 + k.wait + 600) END,
    CASE WHEN g <= :calls - 40 THEN (95 + k.wait + 600)::int END,
    CASE WHEN k.queued AND g <= :calls - 40 THEN k.wait END
FROM generate_series(1, :calls) AS g
CROSS JOIN LATERAL (SELECT random() AS outcome, random() AS step, random() AS line,
    random() AS test, random() AS force, random() AS role, random() AS category,
    random() AS urgent, random() AS anonymous, random() AS wait, g AS tie) AS r
CROSS JOIN LATERAL (SELECT
    o.outcome, o.abandoned_step, o.outcome IN ('answered', 'left_queue', 'left_for_online')
        AS queued,
    CASE WHEN o.outcome = 'abandoned'
        THEN array_position({sql_array(PATH)}, o.abandoned_step) - 1
        WHEN o.outcome = 'failed' THEN 0 ELSE 6 END AS reached,
    timestamptz '{END.isoformat()}' - make_interval(secs => (:calls - g) * :spacing)
        AS started_at,
    floor(r.wait * r.wait * 900)::int AS wait
    FROM (SELECT
        CASE WHEN r.outcome < 0.20 THEN 'abandoned' WHEN r.outcome < 0.30 THEN 'left_queue'
             WHEN r.outcome < 0.33 THEN 'left_for_online' WHEN r.outcome < 0.34 THEN 'failed'
             ELSE 'answered' END AS outcome,
        CASE WHEN r.outcome < 0.20
             THEN ({sql_array(["force", "force", *PATH[1:]])})[1 + floor(r.step * 7)] END
            AS abandoned_step) AS o) AS k
"""

# One "chose" event per step answered: `seq` holds how many steps the call answered.
SEED_EVENTS = f"""
INSERT INTO call_events (call_id, seq, step, outcome, value, at)
SELECT c.id, s.pos - 1, s.step, 'chose', NULL, c.started_at + make_interval(secs => s.pos * 15)
FROM calls c
JOIN unnest({sql_array(PATH)}) WITH ORDINALITY AS s(step, pos) ON s.pos <= c.seq
"""

SEED_REPORTS = """
INSERT INTO reports (id, reference, origin, call_id, status, urgent, created_at, updated_at,
    submitted_at, reviewed_at, categories, what, when_text, when_approximate, "where",
    risk_who, evidence, anonymous, extra)
SELECT row_number() OVER (ORDER BY x.created_at), x.reference, x.origin, x.call_id,
    x.status, false, x.created_at, x.created_at, x.created_at,
    CASE WHEN x.status <> 'submitted' THEN x.created_at + interval '1 day' END,
    json_build_array(x.category), '', '', false, '', '', '', true, '{}'
FROM (
    SELECT 'C' || c.id AS reference, 'call' AS origin, c.id AS call_id,
        c.started_at + interval '20 minutes' AS created_at,
        CASE WHEN (c.id / 40) % 10 = 0 THEN 'submitted' ELSE 'disseminated' END AS status,
        coalesce(c.category, 'unknown') AS category
    FROM calls c WHERE c.outcome = 'answered' AND c.id % 40 = 0
    UNION ALL
    SELECT 'O' || g, 'online', NULL,
        CAST(:end AS timestamptz) - make_interval(secs => g * 7884),
        CASE WHEN g % 10 = 0 THEN 'submitted' ELSE 'disseminated' END,
        (ARRAY['bribery', 'sexual', 'discrimination'])[1 + g % 3]
    FROM generate_series(1, 8000) AS g
) AS x
"""

SEED_DISSEMINATIONS = f"""
INSERT INTO disseminations (report_id, force_id, channel, destination, idempotency_key, state,
    attempts, next_attempt_at, delivered_at, created_at, force_outcome, force_outcome_at)
SELECT r.id, coalesce(c.force, ({sql_array(FORCES[:-1])})[1 + r.id % 10]), 'https', 'PSD',
    md5('d' || r.id), CASE WHEN r.id % 50 = 0 THEN 'pending' ELSE 'delivered' END, 1,
    r.reviewed_at, CASE WHEN r.id % 50 <> 0 THEN r.reviewed_at + interval '1 hour' END,
    r.reviewed_at,
    CASE WHEN r.id % 50 <> 0 THEN (ARRAY['investigation', 'investigation', 'investigation',
        'passed_to_other_force', 'safeguarding', 'recorded', NULL])[1 + r.id % 7] END,
    CASE WHEN r.id % 50 <> 0 THEN r.reviewed_at + interval '30 days' END
FROM reports r LEFT JOIN calls c ON c.id = r.call_id
WHERE r.status = 'disseminated'
"""

SEED_USERS = """
INSERT INTO users (id, username, password_hash, role, active, session_version, failed_logins,
    created_at)
VALUES (1, 'bench-admin', 'x', 'admin', true, 0, 0, now()),
       (2, 'bench-supervisor', 'x', 'supervisor', true, 0, 0, now()),
       (3, 'bench-handler', 'x', 'handler', true, 0, 0, now())
"""

SEED_AUDIT = """
INSERT INTO audit_entries (at, user_id, action, record_type, record_id, detail)
SELECT CAST(:end AS timestamptz) - make_interval(secs => g * 210), 1 + g % 3,
    (ARRAY['view', 'update', 'submit', 'approve', 'disclose', 'erase'])[1 + g % 6],
    'report', (g % 24000)::text, '{}'
FROM generate_series(1, 300000) AS g
"""


def seed(url: str, calls: int) -> None:
    engine = create_engine(normalise_url(url))
    spacing = 2 * 365 * 86400 / calls
    steps = [
        ("calls", SEED_CALLS, {"calls": calls, "spacing": spacing}),
        ("call events", SEED_EVENTS, {}),
        ("reports", SEED_REPORTS, {"end": END}),
        ("disseminations", SEED_DISSEMINATIONS, {}),
        ("users", SEED_USERS, {}),
        ("audit entries", SEED_AUDIT, {"end": END}),
    ]
    # Secondary indexes are built after the rows are in: much faster than row by row.
    indexes = [
        index
        for table in ("calls", "call_events", "audit_entries", "disseminations")
        for index in Base.metadata.tables[table].indexes
    ]
    with engine.begin() as conn:
        conn.execute(text("SELECT setseed(0.42)"))
        conn.execute(text("SET maintenance_work_mem = '512MB'"))
        for index in indexes:
            index.drop(conn)
        for name, sql, params in steps:
            started = time.perf_counter()
            result = conn.execute(text(sql), params)
            print(f"  seeded {result.rowcount:>9,} {name} in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        for index in indexes:
            index.create(conn)
        print(f"  built {len(indexes)} indexes in {time.perf_counter() - started:.1f} s")
        for table in ("calls", "call_events", "reports", "disseminations", "users"):
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        started = time.perf_counter()
        conn.execute(text("VACUUM ANALYZE"))
        print(f"  vacuum analyze in {time.perf_counter() - started:.1f} s")
    engine.dispose()


def timed(label: str, run: Callable[[], object], repeat: int, target_ms: float) -> float:
    run()  # warm the cache and the plan
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    median = statistics.median(times)
    worst = max(times)
    verdict = "ok" if median < target_ms else "OVER"
    print(
        f"  {label:<50} median {median:7.1f} ms  max {worst:7.1f} ms"
        f"  [{verdict}: target {target_ms:g}]"
    )
    return median


def bench_queries(url: str, repeat: int) -> None:
    engine = create_engine(normalise_url(url))
    year = Period(END.replace(year=END.year - 1), END)
    both_years = Period.of_days(date(2024, 11, 28), date(2026, 11, 27))
    with Session(engine) as session:
        deep = encode_cursor(year.start, 10**9)  # the page that starts a year back

        def page(filters: CallFilters | None = None, cursor: str | None = None) -> Callable:
            def run() -> object:
                rows = call_log(session, filters, older_than=cursor)
                session.rollback()
                return rows

            return run

        print("Call log page (50 rows), query function:")
        cases = [
            ("unfiltered, first page", page()),
            ("unfiltered, a year back", page(cursor=deep)),
            ("force = kent, first page", page(CallFilters(force="kent"))),
            ("force = kent, a year back", page(CallFilters(force="kent"), deep)),
            ("category + urgent", page(CallFilters(category="sexual", urgent=True))),
            ("abandoned at role", page(CallFilters(abandoned_step="role"))),
            ("queued and left, a year back", page(CallFilters(outcome="queued_and_left"), deep)),
            ("report made", page(CallFilters(outcome="report"))),
            ("report made, a year back", page(CallFilters(outcome="report"), deep)),
            ("Welsh line, not anonymous", page(CallFilters(line="welsh", anonymous=False))),
            (
                "date range (one week) + role",
                page(
                    CallFilters(
                        since=datetime(2026, 3, 1, tzinfo=UTC),
                        until=datetime(2026, 3, 8, tzinfo=UTC),
                        role="staff",
                    )
                ),
            ),
        ]
        for label, run in cases:
            timed(label, run, repeat, 100)

        print("Audit log page (50 rows), query function:")
        for label, filters in (
            ("unfiltered, first page", AuditFilters()),
            ("by user", AuditFilters(username="bench-supervisor")),
            ("by action", AuditFilters(action="approve")),
            ("by record", AuditFilters(record_type="report", record_id="1234")),
        ):
            timed(label, lambda f=filters: audit_log(session, f), repeat, 100)
        timed(
            "unfiltered, a year back",
            lambda: audit_log(session, older_than=deep),
            repeat,
            100,
        )

        print("Figures, query functions:")
        started = time.perf_counter()
        days = roll_up_settled(session)
        print(
            f"  first count of the settled days into figure_days ({days} days; once, then "
            f"hourly by ivr deliver, and by ivr purge): {time.perf_counter() - started:.1f} s"
        )
        for label, period in (("last year", year), ("both years (every call)", both_years)):
            timed(
                f"figures(), {label}",
                lambda p=period: figures(session, p, step_order=STEP_ORDER),
                max(3, repeat // 3),
                500,
            )
        parts: list[tuple[str, Callable[[], object]]] = [
            ("  calls, waiting, funnel (daily counts)", lambda: call_counts(session, year)),
            ("  reports", lambda: _reports(session, year, Figures(year))),
            ("  disseminations", lambda: _disseminations(session, year, Figures(year))),
            ("  announcement's figures", lambda: announcement_figures(session, year)),
        ]
        for label, run in parts:
            timed(f"{label}, last year", run, max(3, repeat // 3), 500)
        result = figures(session, year, step_order=STEP_ORDER)
        print(
            f"  (last year: {result.calls:,} calls, {result.intelligence_passed:,} pieces "
            f"passed, {sum(s.reached for s in result.funnel):,} step visits)"
        )
    engine.dispose()


def bench_pages(url: str, repeat: int, calls: int) -> None:
    """The real pages, through the app (routing, sign-in and role check, the
    query, the template and the SVG charts; no network), as a supervisor."""
    app = create_app(
        {
            "database_url": url,
            "twilio_auth_token": "bench-auth-token-0123456789abcdef",
            "secret_key": "b" * 40,
            "contact_key": Fernet.generate_key().decode(),
            "environment": "production",
            "check_signatures": True,
            "call_gateway": "fake",
            "login_failure_delay_ms": 0,
        }
    )
    with Session(get_engine(app)) as session:
        if session.scalar(select(User).where(User.username == "bench-sue")) is None:
            create_user(session, "bench-sue", "supervisor", PASSWORD)
            session.commit()
    client = app.test_client()
    sign_in(app, client, "bench-sue", PASSWORD)
    year_back = encode_cursor(END.replace(year=END.year - 1), 10**9)
    last_year = f"since={(END.date().replace(year=END.year - 1))}&until={END.date()}"

    def get(path: str) -> Callable[[], object]:
        def run() -> object:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return response

        return run

    print("Pages through the app (Flask test client, signed in as a supervisor):")
    for label, path, target in (
        ("call log, first page", "/console/calls", 100),
        ("call log, a year back", f"/console/calls?older={year_back}", 100),
        ("call log, force + outcome", "/console/calls?force=kent&outcome=answered", 100),
        (
            "call log, report made, a year back",
            f"/console/calls?outcome=report&older={year_back}",
            100,
        ),
        (
            "call log, a week, staff",
            "/console/calls?since=2026-03-01&until=2026-03-07&role=staff",
            100,
        ),
        ("a call's timeline", f"/console/calls/{calls // 2}", 100),
        ("audit log, first page", "/console/audit", 100),
        ("audit log, by user", "/console/audit?user=bench-supervisor", 100),
        ("figures page, last year", f"/console/figures?{last_year}", 500),
        ("figures CSV, last year", f"/console/figures.csv?{last_year}", 500),
    ):
        timed(label, get(path), repeat, target)
    get_engine(app).dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--reuse", metavar="NAME", help="time a database a --keep run seeded (then drop it)"
    )
    args = parser.parse_args()

    name = args.reuse or f"helpline_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(f"{args.server}/postgres"), isolation_level="AUTOCOMMIT")
    url = f"{args.server}/{name}"
    if not args.reuse:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        if args.reuse:
            print(f"Database {name}: reusing it, counted days cleared")
            engine = create_engine(normalise_url(url))
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM figure_days"))
                conn.execute(text("DELETE FROM figure_days_counted"))
            engine.dispose()
        else:
            print(f"Database {name}: migrating and seeding {args.calls:,} calls")
            upgrade(url)
            seed(url, args.calls)
        bench_queries(url, args.repeat)
        bench_pages(url, args.repeat, args.calls)
    finally:
        if args.keep:
            print(f"kept {url}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
