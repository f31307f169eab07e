"""Who is there to answer: each handler is available, busy (on a call) or away.

Handlers set themselves available or away in the console; taking a call makes them
busy; signing out makes them away, and so does going idle: a handler whose last sign of
life in the console (`availability_at`) is older than a console session lasts counts
as away, whatever was last set. The voice face reads `answerers_available` (models
only: it never imports staff) to tell callers at once when nobody can answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from ivr.models import User

AVAILABLE, BUSY, AWAY = "available", "busy", "away"
STATES = (AVAILABLE, BUSY, AWAY)
ANSWERERS = ("handler", "supervisor")  # the roles that take calls
# A console page that is open refreshes the queue every few seconds; a sign of life
# is written at most this often, not on every request.
TOUCH_EVERY = timedelta(seconds=60)


def _fresh_since(now: datetime, idle: timedelta) -> datetime:
    return now - idle


def answerers_available(session: Session | Connection, now: datetime, idle: timedelta) -> int:
    """How many handlers could take a call now (available, and not idle)."""
    query = select(func.count(User.id)).where(
        User.active.is_(True),
        User.role.in_(ANSWERERS),
        User.availability == AVAILABLE,
        User.availability_at >= _fresh_since(now, idle),
    )
    return int(session.scalar(query) or 0)


def set_availability(session: Session, user_id: int, state: str, now: datetime) -> None:
    if state not in STATES:
        raise ValueError(f"availability {state!r} is not one of {', '.join(STATES)}")
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(availability=state, availability_at=now)
        .execution_options(synchronize_session=False)
    )


def touch(session: Session, user: User, now: datetime) -> bool:
    """A sign of life from the console; True if it was written (commit it)."""
    last = user.availability_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is not None and now - last < TOUCH_EVERY:
        return False
    user.availability_at = now
    return True


@dataclass(frozen=True)
class Answerer:
    username: str
    role: str
    state: str  # available | busy | away (idle counts as away)
    idle: bool


def answerers(session: Session, now: datetime, idle: timedelta) -> list[Answerer]:
    """Every active handler and supervisor with the state callers would see now."""
    fresh = _fresh_since(now, idle)
    found = []
    users = session.scalars(
        select(User).where(User.active.is_(True), User.role.in_(ANSWERERS)).order_by(User.username)
    )
    for user in users:
        seen = user.availability_at
        if seen is not None and seen.tzinfo is None:
            seen = seen.replace(tzinfo=now.tzinfo)
        is_idle = seen is None or seen < fresh
        state = AWAY if is_idle else user.availability
        found.append(
            Answerer(user.username, user.role, state, is_idle and user.availability != AWAY)
        )
    return found
