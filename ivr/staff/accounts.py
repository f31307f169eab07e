"""Staff accounts: argon2id password hashes, creating, disabling (signing in: signing_in.py).

Shared by the `ivr user` commands and the console, so both apply the same rules.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.core.audit import audit
from ivr.core.contact import parse_phone
from ivr.models import StaffRole, User

MIN_PASSWORD_LENGTH = 12
# argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile: 64 MiB, 3 passes).
_hasher = PasswordHasher()
# Checked against when the username is unknown, so that a wrong name takes as long as a
# wrong password and does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(Exception):
    """A bad username, role, password or phone number; the message is one line for a human."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")


def generate_password() -> str:
    """Four groups of five letters and digits: easy to type, about 100 bits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


def normalise_phone(typed: str) -> str | None:
    """A handler's phone number in E.164, or None when left empty; AccountError if invalid."""
    if not typed.strip():
        return None
    number = parse_phone(typed)
    if number is None:
        raise AccountError(f"{typed.strip()!r} is not a valid phone number")
    return number


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def create_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    phone: str = "",
    by: User | None = None,
) -> User:
    name = username.strip().lower()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-" for c in name):
        raise AccountError("a username is 1 to 64 letters, digits, dots, dashes or underscores")
    if role not in tuple(StaffRole):
        raise AccountError(f"the role must be one of {', '.join(StaffRole)}, not {role!r}")
    check_new_password(password)
    if find_user(session, name) is not None:
        raise AccountError(f"a user called {name!r} already exists")
    user = User(
        username=name,
        role=role,
        password_hash=hash_password(password),
        phone_e164=normalise_phone(phone),
        active=True,
        session_version=0,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    audit(session, by, "create", "user", user.id, detail={"username": name, "role": role})
    return user


def set_password(session: Session, user: User, password: str, by: User | None = None) -> None:
    """A new password ends every session the user has (each carries the old version)."""
    check_new_password(password)
    user.password_hash = hash_password(password)
    user.session_version += 1
    user.failed_logins = 0
    user.locked_until = None
    audit(session, by or user, "update", "user", user.id, detail={"changed": "password"})


def set_active(session: Session, user: User, active: bool, by: User | None = None) -> None:
    user.active = active
    if not active:
        user.session_version += 1  # a disabled account's open sessions end at once
    audit(session, by, "enable" if active else "disable", "user", user.id)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_against_nothing(password: str) -> None:
    """The work of a real check, for when there is nothing to check against."""
    verify_password(_DUMMY_HASH, password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
