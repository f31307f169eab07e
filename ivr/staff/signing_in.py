"""Signing in: the password step, the second step, and the count of failures that locks.

One answer for every failure. An unknown name, a wrong password, a locked account and a
disabled one (even with the right password) all do the same work (one claim, one argon2id
check, one back-off write) and get the same answer from the console, so neither the words
nor the time tell which accounts exist, which are locked, or whether a password was right.

Failures are counted in the database, atomically, before the password is checked: a
conditional `UPDATE ... SET failed_logins = failed_logins + 1 ... RETURNING` claims one
attempt and is refused once `max_failures` are counted or the account is locked. Twenty
guesses sent at once therefore get at most `max_failures` checks, however many workers or
hosts serve them. The claim is committed before the hash is computed, so no lock is held
through the slow part and a worker killed mid-check still has the attempt counted.

The pause after a failure is kept in the database too (`locked_until` a little ahead,
longer with each failure in a row), never as a sleep that would hold a worker: a try that
comes sooner is answered like any failure without its password being checked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, update
from sqlalchemy.orm import Session

from ivr.core.audit import audit
from ivr.core.contact import ContactCipher
from ivr.models import User, utcnow
from ivr.staff import two_factor
from ivr.staff.accounts import (
    hash_password,
    needs_rehash,
    verify_against_nothing,
    verify_password,
)


def check_password(
    session: Session,
    username: str,
    password: str,
    *,
    max_failures: int,
    lock_minutes: int,
    backoff_ms: int,
    now: datetime | None = None,
) -> User | None:
    """The user when the password is right and the account may sign in, else None.

    A right password leaves the attempt counted until `finish` (or `password_passed`, when
    a second step follows): a wrong second step is a failure like a wrong password.
    Commits: the count must hold whatever happens next.
    """
    now = now or utcnow()
    name = username.strip().lower()
    claimed = _claim(session, User.username == name, now, max_failures)
    if claimed is None:
        verify_against_nothing(password)
        _back_off(session, User.username == name, 0, now, backoff_ms)
        session.commit()
        return None
    user_id, failures, password_hash, active = claimed
    # The disabled state is looked at only after a full check, which every case makes.
    if verify_password(password_hash, password) and active:
        user = session.get(User, user_id, populate_existing=True)
        if user is not None:
            if needs_rehash(password_hash):
                user.password_hash = hash_password(password)
                session.commit()
            return user
    _failed(session, user_id, failures, now, max_failures, lock_minutes, backoff_ms)
    session.commit()
    return None


def password_passed(session: Session, user: User) -> None:
    """The password was right and the second step follows: that attempt is not a failure
    (the second step claims its own)."""
    session.execute(
        update(User)
        .where(User.id == user.id, User.failed_logins > 0)
        .values(failed_logins=User.failed_logins - 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def check_second_step(
    session: Session,
    user_id: int,
    code: str,
    cipher: ContactCipher,
    *,
    max_failures: int,
    lock_minutes: int,
    backoff_ms: int,
    now: datetime | None = None,
) -> tuple[User, str] | None:
    """(user, 'totp' or 'recovery') for a good code, counted and locked like a password."""
    now = now or utcnow()
    claimed = _claim(session, User.id == user_id, now, max_failures)
    if claimed is None:
        return None
    _, failures, _, active = claimed
    user = session.get(User, user_id, populate_existing=True)
    if user is not None and active:
        method = two_factor.check_code(session, user, code, cipher, now.timestamp())
        if method is not None:
            session.commit()
            return user, method
    _failed(session, user_id, failures, now, max_failures, lock_minutes, backoff_ms)
    session.commit()
    return None


def finish(session: Session, user: User, how: str, now: datetime | None = None) -> None:
    """A whole sign-in succeeded: the count starts again, and it is audited."""
    user.failed_logins = 0
    user.last_login_at = now or utcnow()
    audit(session, user, "sign_in", "user", user.id, detail={"second_step": how})
    session.commit()


def _claim(
    session: Session, which: ColumnElement[bool], now: datetime, max_failures: int
) -> tuple[int, int, str, bool] | None:
    """Count one attempt if the account may be tried now: (id, failures counted, hash,
    active), or None for an unknown, locked or backing-off account."""
    row = session.execute(
        update(User)
        .where(
            which,
            User.failed_logins < max_failures,
            or_(User.locked_until.is_(None), User.locked_until <= now),
        )
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.id, User.failed_logins, User.password_hash, User.active)
        .execution_options(synchronize_session=False)
    ).first()
    session.commit()
    if row is None:
        return None
    return int(row[0]), int(row[1]), str(row[2]), bool(row[3])


def _failed(
    session: Session,
    user_id: int,
    failures: int,
    now: datetime,
    max_failures: int,
    lock_minutes: int,
    backoff_ms: int,
) -> None:
    if failures < max_failures:
        _back_off(session, User.id == user_id, failures, now, backoff_ms)
        return
    # The count and the lock change in one statement: no request sees the count reset
    # before the lock is in place.
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(locked_until=now + timedelta(minutes=lock_minutes), failed_logins=0)
        .execution_options(synchronize_session=False)
    )
    audit(
        session,
        None,
        "lock",
        "user",
        user_id,
        reason=f"{max_failures} failed sign-ins in a row",
        detail={"locked_minutes": lock_minutes},
    )


def _back_off(
    session: Session, which: ColumnElement[bool], failures: int, now: datetime, backoff_ms: int
) -> None:
    """No try for a moment after a failure, longer for each in a row; never shortens a lock.
    Run for unknown names too (it then changes nothing), so every failure does the same work.
    """
    until = now + timedelta(milliseconds=backoff_ms * min(failures, 5))
    session.execute(
        update(User)
        .where(which, or_(User.locked_until.is_(None), User.locked_until < until))
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )
