"""The shared token buckets (ivr/core/rate_limit.py) limit, and lock their row for one
statement only: never across the request that takes a token. On SQLite, and on
PostgreSQL when TEST_POSTGRES_URL is set."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.db import get_engine, get_session
from ivr.core.rate_limit import Limit, take
from ivr.models import RateBucket, utcnow

# Refills one token a minute: nothing refills within a test unless its clock says so.
SLOW = Limit("test-bucket", capacity=3, per_minute=1)


def _tokens(app) -> float:  # type: ignore[no-untyped-def]
    with Session(get_engine(app)) as session:
        return session.scalar(select(RateBucket.tokens).where(RateBucket.name == SLOW.name))


def test_a_bucket_refuses_when_empty_and_refills_with_time(app):
    now = utcnow()
    with app.app_context():
        session = get_session()
        assert [take(session, SLOW, now) for _ in range(4)] == [True, True, True, False]
        assert not take(session, SLOW, now + timedelta(seconds=30))  # half a token
        assert take(session, SLOW, now + timedelta(seconds=61))
        assert not take(session, SLOW, now + timedelta(seconds=62))
        # Never more than its capacity, however long it stood.
        later = now + timedelta(days=1)
        assert [take(session, SLOW, later) for _ in range(4)] == [True, True, True, False]


def test_a_token_is_taken_without_holding_the_row_for_the_callers_request(app):
    """The send page takes a token, then hashes the follow-up code (argon2id, ~150 ms)
    before it commits. Another reporter's take must not wait for that: before the fix
    it waited on the row lock (PostgreSQL: until the lock timeout, an error)."""
    now = utcnow()
    with app.app_context():
        first = get_session()
        assert take(first, SLOW, now)
        first.scalar(select(RateBucket.name))  # the request goes on, not yet committed
        with Session(get_engine(app)) as other:
            assert take(other, SLOW, now)
        # The first request fails and rolls back: its token stays spent all the same.
        first.rollback()
    assert _tokens(app) == 1


def _all_at_once(app, limit: Limit, takers: int, now=None) -> list[bool]:  # type: ignore[no-untyped-def]
    """What each of `takers` threads got, all taking at the same moment."""
    results: list[bool] = []
    start = threading.Barrier(takers)

    def taker() -> None:
        with Session(get_engine(app)) as session:
            start.wait()
            results.append(take(session, limit, now))

    threads = [threading.Thread(target=taker) for _ in range(takers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_takers_never_share_a_token(app):
    now = utcnow()
    with app.app_context():
        assert take(get_session(), SLOW, now)  # the bucket exists: 2 tokens left
    assert sorted(_all_at_once(app, SLOW, 8, now)) == [False] * 6 + [True] * 2
    assert _tokens(app) == 0


def test_takers_who_all_find_a_new_bucket_missing_all_get_a_token(app):
    """Several workers use a bucket for the first time at once: each finds no row, one
    makes it, and every one of them must still get a token (there are plenty). Before
    the fix a taker that found the row made by another refused, as if it were empty
    (a race: ten fresh buckets make it near certain to show)."""
    for n in range(10):
        roomy = Limit(f"test-new-{n}", capacity=100, per_minute=1)
        assert _all_at_once(app, roomy, 6) == [True] * 6, roomy.name


def test_a_host_whose_clock_is_behind_adds_no_tokens_and_takes_only_one(app):
    now = utcnow()
    with app.app_context():
        session = get_session()
        assert take(session, SLOW, now)
        assert take(session, SLOW, now - timedelta(minutes=5))
    assert _tokens(app) == 1
