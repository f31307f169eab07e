"""The second step of a staff sign-in: a TOTP code (RFC 6238) or a single-use recovery code.

As SecureDrop and GlobaLeaks require of their staff: a password alone opens nothing.
- The TOTP secret is made here, shown once as a QR code drawn on the server (segno, inline
  SVG: no other site sees it) and kept encrypted under the contact key (a copy of the
  database alone gives nobody the codes).
- A code is good once: the step (30-second window) it belongs to is stored, and only a
  later step is accepted afterwards, by a conditional UPDATE so two requests racing with
  the same code cannot both win.
- Recovery codes are shown once and kept only as argon2id hashes; each is deleted by its
  use. The first group of a code is its name in clear, so a check hashes one code, not ten.
- An admin can reset a user's second factor (audited); the user enrols again at their next
  sign-in.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ivr.core.audit import audit
from ivr.core.contact import ContactCipher
from ivr.models import RecoveryCode, User, utcnow
from ivr.staff.accounts import hash_password, verify_password

ISSUER = "Helpline console"
RECOVERY_CODES = 10
# Letters and digits that cannot be mistaken for one another when read from paper.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
# A code from the step before or after the server's clock is accepted (clock drift).
_DRIFT_STEPS = 1


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the secret for typing in, and its QR code."""

    secret: str
    uri: str
    qr_svg: str


def is_enrolled(user: User) -> bool:
    return user.totp_secret is not None and user.two_factor_at is not None


def secret_of(user: User, cipher: ContactCipher) -> str | None:
    if user.totp_secret is None:
        return None
    return cipher.decrypt(user.totp_secret)


def start_enrolment(session: Session, user: User, cipher: ContactCipher) -> Enrolment:
    """A new secret for a user not yet enrolled (kept until a first code confirms it)."""
    secret = secret_of(user, cipher) if not is_enrolled(user) else None
    if secret is None:
        secret = pyotp.random_base32()
        user.totp_secret = cipher.encrypt(secret)
        user.two_factor_at = None
        user.totp_last_step = None
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    qr = segno.make(uri, error="m")
    return Enrolment(secret=secret, uri=uri, qr_svg=qr.svg_inline(scale=4, title="QR code"))


def confirm_enrolment(
    session: Session, user: User, code: str, cipher: ContactCipher, now: float | None = None
) -> bool:
    """The first good code from the new secret switches two-factor sign-in on."""
    if is_enrolled(user) or not _check_totp(session, user, code, cipher, now):
        return False
    user.two_factor_at = utcnow()
    audit(session, user, "enrol_two_factor", "user", user.id)
    return True


def enrol(session: Session, user: User, secret: str, cipher: ContactCipher) -> None:
    """Enrol with a known secret at once (the CLI's and tests' way; the console confirms)."""
    user.totp_secret = cipher.encrypt(secret)
    user.two_factor_at = utcnow()
    user.totp_last_step = None


def check_code(
    session: Session, user: User, typed: str, cipher: ContactCipher, now: float | None = None
) -> str | None:
    """'totp' or 'recovery' when `typed` is a good code for an enrolled user, else None."""
    if not is_enrolled(user):
        return None
    code = "".join(typed.split()).replace("-", "").lower()
    if code.isdigit() and len(code) == 6:
        return "totp" if _check_totp(session, user, code, cipher, now) else None
    return "recovery" if _use_recovery_code(session, user, code) else None


def _check_totp(
    session: Session, user: User, code: str, cipher: ContactCipher, now: float | None
) -> bool:
    secret = secret_of(user, cipher)
    code = "".join(code.split())
    if secret is None or len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time() if now is None else now)
    for step in range(current - _DRIFT_STEPS, current + _DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            # Accept this step only if no request has used it (or a later one) yet.
            claimed = session.execute(
                update(User)
                .where(
                    User.id == user.id,
                    or_(User.totp_last_step.is_(None), User.totp_last_step < step),
                )
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return False
            user.totp_last_step = step
            return True
    return False


def new_recovery_codes(session: Session, user: User, by: User | None = None) -> list[str]:
    """Replace the user's recovery codes; the plain codes are returned to be shown once."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        groups = ["".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4)]
        codes.append("-".join(groups))
        session.add(
            RecoveryCode(
                user_id=user.id, lookup=groups[0], code_hash=hash_password("".join(groups))
            )
        )
    audit(session, by or user, "new_recovery_codes", "user", user.id)
    return codes


def recovery_codes_left(session: Session, user: User) -> int:
    rows = session.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id))
    return len(rows.all())


def _use_recovery_code(session: Session, user: User, code: str) -> bool:
    if len(code) != 16:
        return False
    rows = session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.lookup == code[:4])
    ).all()
    for row in rows:
        if verify_password(row.code_hash, code):
            # Deleted by this use; a racing request with the same code deletes nothing.
            gone = session.execute(delete(RecoveryCode).where(RecoveryCode.id == row.id))
            if gone.rowcount == 1:  # type: ignore[attr-defined]
                audit(session, user, "use_recovery_code", "user", user.id)
                return True
    return False


def reset(session: Session, user: User, by: User | None, reason: str | None = None) -> None:
    """An admin's reset: no secret, no recovery codes, every session ended; the user
    enrols again at their next sign-in."""
    user.totp_secret = None
    user.two_factor_at = None
    user.totp_last_step = None
    user.session_version += 1
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit(session, by, "reset_two_factor", "user", user.id, reason=reason)
