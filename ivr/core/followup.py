"""The follow-up code: how an anonymous reporter proves, by web or by phone, that a
report is theirs, without ever saying who they are.

Every report gets a secret code of CODE_DIGITS random digits (typable on a phone
keypad), stored only as an argon2id hash. The reference can be typed on a keypad too:
each letter as the key that carries it (ABC on 2, ... WXYZ on 9), and that digit form
is unique among reports (`keypad_reference`).

Guessing is defeated by the lock: after MAX_FAILURES wrong codes a reference is locked
for LOCK_FOR, whichever route the guesses came by; the lock is audited. An unknown
reference, a wrong code and a locked reference all get the same answer (None) after
the same work (one argon2id verification), so an answer says nothing about which
references exist. bench/online.py measures the check and prints the guessing odds.

This lives in core (models only) so that the phone side can check a code without
reaching the records package (.importlinter).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.core.audit import audit
from ivr.core.rate_limit import Limit
from ivr.models import Report, ReportMessage, utcnow

CODE_DIGITS = 12
MAX_FAILURES = 5
LOCK_FOR = timedelta(hours=1)
# Chosen so one check takes 50-250 ms on the production-sized machine (bench/online.py):
# 64 MiB and three passes; a GPU farm gains little against a memory-hard hash.
HASHER = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=1, type=Type.ID)
# Every code check, web and phone together, takes a token from one shared bucket.
CHECK_LIMIT = Limit("followup-check", capacity=60, per_minute=60)
_KEYPAD = {
    **{d: d for d in "0123456789"},
    **{ch: key for key, letters in {
        "2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL",
        "6": "MNO", "7": "PQRS", "8": "TUV", "9": "WXYZ",
    }.items() for ch in letters},
}  # fmt: skip
# Verified when the reference is unknown, so that answer costs what a wrong code costs.
_DECOY_HASH = HASHER.hash("0" * CODE_DIGITS)


def new_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))


def spaced(code: str, group: int = 3) -> str:
    """The code in groups of three, as it is shown and read out: "123 456 789 012"."""
    return " ".join(code[i : i + group] for i in range(0, len(code), group))


def keypad_form(reference: str) -> str:
    """The digits a reference is typed as on a phone keypad: "7KQD-M3XA" -> "75736392"."""
    return "".join(_KEYPAD[ch] for ch in reference.upper() if ch in _KEYPAD)


def issue_code(session: Session, report: Report) -> str:
    """A new code for the report (replacing any old one), returned once and never stored
    in the clear. Clears the lock: the reporter has just been given it by us."""
    if report.keypad_reference is None:
        report.keypad_reference = keypad_form(report.reference)
    code = new_code()
    report.followup_code_hash = HASHER.hash(code)
    report.followup_failures = 0
    report.followup_locked_until = None
    return code


def find_report(session: Session, typed_reference: str) -> Report | None:
    """The report a typed reference names: letters and digits as printed, or keypad digits."""
    cleaned = "".join(ch for ch in typed_reference.upper() if ch.isalnum())
    if not cleaned or len(cleaned) > 16:
        return None
    if cleaned.isdigit():
        where = Report.keypad_reference == cleaned
    else:
        where = Report.reference == f"{cleaned[:4]}-{cleaned[4:]}"
    return session.scalar(select(Report).where(where).with_for_update())


def check(
    session: Session, typed_reference: str, typed_code: str, route: str, now: datetime | None = None
) -> Report | None:
    """The report when the code is right and the reference not locked; else None.

    Counts a wrong code against the reference and locks it after MAX_FAILURES. The
    caller commits (the count and the lock must persist even when the answer is None).
    """
    now = now or utcnow()
    code = "".join(ch for ch in typed_code if ch.isdigit())
    report = find_report(session, typed_reference)
    if report is None or report.followup_code_hash is None:
        _verify(_DECOY_HASH, code)
        return None
    locked_until = report.followup_locked_until
    if locked_until is not None and locked_until > now:
        _verify(_DECOY_HASH, code)
        return None
    if _verify(report.followup_code_hash, code):
        report.followup_failures = 0
        report.followup_locked_until = None
        audit(session, None, "follow-up sign-in", "report", report.reference, reason=route)
        return report
    report.followup_failures = (report.followup_failures or 0) + 1
    if report.followup_failures >= MAX_FAILURES:
        report.followup_failures = 0
        report.followup_locked_until = now + LOCK_FOR
        audit(
            session,
            None,
            "lock",
            "report",
            report.reference,
            reason=f"{MAX_FAILURES} wrong follow-up codes ({route})",
            detail={"locked_minutes": int(LOCK_FOR.total_seconds() // 60)},
        )
    return None


def open_questions(session: Session, report_id: int) -> int:
    """How many of the force's questions wait for the reporter (the phone line says so)."""
    stmt = select(func.count(ReportMessage.id)).where(
        ReportMessage.report_id == report_id,
        ReportMessage.kind == "question",
        ReportMessage.status == "open",
    )
    return int(session.scalar(stmt) or 0)


def guesses_per_year() -> int:
    """The most codes anyone can try against one reference in a year."""
    return int(MAX_FAILURES * (timedelta(days=365) / LOCK_FOR))


def guessing_odds_per_year() -> float:
    """The chance that guessing finds one reference's code within a year."""
    return guesses_per_year() / 10**CODE_DIGITS


def _verify(hashed: str, code: str) -> bool:
    try:
        return HASHER.verify(hashed, code)
    except (VerificationError, InvalidHashError):
        return False
