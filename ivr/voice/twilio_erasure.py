"""Leave no trace at Twilio: delete each ended call's record there (its Call resource).

Twilio keeps every call in the account's call log, From number included, until the
account deletes it. When a call ends, `claim` writes one row to the erasure outbox
(ivr/models/erasure.py) with the CallSid encrypted (and its keyed digest, by which a
repeated final status callback is known); `Eraser` (run by `ivr erase-calls`)
deletes the call through Twilio's REST client (`client.calls(sid).delete()`) and
deletes the row the moment Twilio confirms, so nothing of the CallSid is left.

Twilio refuses to delete a call that it has not finished with (error 20009: "wait
at least 1 minute", in rare cases up to 14 days): such a row, like one for which
Twilio could not be reached, is tried again later, the wait doubling from
`retry_base_seconds` up to `retry_max_seconds`. A call Twilio does not know (404:
deleted already, or a simulated call) counts as erased. Nothing here logs a CallSid.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.rest import Client

from ivr.core.contact import ContactCipher
from ivr.core.db import insert_on_conflict
from ivr.models import TwilioErasure, utcnow
from ivr.voice.twilio_rest import quiet_http_client

log = logging.getLogger(__name__)

NOT_YET_COMPLETE = 20009  # Twilio: "Cannot delete this resource before it is complete"
# Twilio asks for a minute at least between a call's end and its deletion.
FIRST_TRY_AFTER = timedelta(seconds=90)


def claim(connection: Connection, cipher: ContactCipher, call_sid: str, now: datetime) -> bool:
    """Ask for the call's deletion at Twilio, in the caller's transaction, unless it was
    asked for already: False then. The row is the claim on the call's end. Its digest
    is unique and the INSERT does nothing on a conflict, so of two identical final status
    callbacks at once exactly one is True (the other waits for its row, then finds it);
    a check and then an INSERT let both through, and both stored the call."""
    insert = insert_on_conflict(connection)
    statement = (
        insert(TwilioErasure)
        .values(
            call_sid_enc=cipher.encrypt(call_sid),
            call_sid_digest=cipher.digest(call_sid),
            attempts=0,
            next_attempt_at=now + FIRST_TRY_AFTER,
        )
        .on_conflict_do_nothing(index_elements=["call_sid_digest"])
        .returning(TwilioErasure.id)
    )
    return connection.execute(statement).first() is not None


@dataclass(frozen=True)
class ErasureSettings:
    account_sid: str
    auth_token: str
    # No defaults for what config/default.toml sets: `ivr erase-calls` passes them.
    retry_base_seconds: int
    retry_max_seconds: int
    timeout_seconds: int = 10


@dataclass
class Round:
    erased: int = 0
    failed: int = 0


class Eraser:
    """Deletes due calls at Twilio, one row per transaction; several may run on PostgreSQL
    (FOR UPDATE SKIP LOCKED keeps them apart)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        cipher: ContactCipher,
        settings: ErasureSettings,
        http_client: HttpClient | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if not settings.account_sid:
            raise ValueError("TWILIO_ACCOUNT_SID is not set: calls cannot be deleted at Twilio")
        self.sessions = sessions
        self.cipher = cipher
        self.settings = settings
        self.clock = clock
        # Twilio's client would log each request's URL, which holds the CallSid.
        http_client = quiet_http_client(http_client, settings.timeout_seconds)
        self.client = Client(settings.account_sid, settings.auth_token, http_client=http_client)

    def run_once(self, limit: int = 100) -> Round:
        done = Round()
        for _ in range(limit):
            outcome = self._erase_one()
            if outcome is None:
                break
            if outcome:
                done.erased += 1
            else:
                done.failed += 1
        return done

    def _erase_one(self) -> bool | None:
        """Try the next due row: True erased, False to try again later, None nothing due."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            row = session.scalar(
                select(TwilioErasure)
                .where(TwilioErasure.next_attempt_at <= now)
                .order_by(TwilioErasure.next_attempt_at, TwilioErasure.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if row is None:
                return None
            call_sid = self.cipher.decrypt(row.call_sid_enc)
            if call_sid is None:
                # Encrypted under another key: no one can ever read it, so it cannot be
                # deleted at Twilio either. Say so (no CallSid in the line) and drop it.
                log.error("twilio erasure %s: unreadable with the contact key; dropped", row.id)
                session.delete(row)
                return False
            error = self._delete_at_twilio(call_sid)
            if error is None:
                session.delete(row)
                return True
            row.attempts += 1
            row.last_error = error
            wait = min(
                self.settings.retry_base_seconds * 2 ** (row.attempts - 1),
                self.settings.retry_max_seconds,
            )
            row.next_attempt_at = now + timedelta(seconds=wait)
            log.info("twilio erasure %s: %s; next try in %s s", row.id, error, wait)
            return False

    def _delete_at_twilio(self, call_sid: str) -> str | None:
        """None once Twilio has no record of the call; otherwise why not (no CallSid)."""
        try:
            self.client.calls(call_sid).delete()
        except TwilioRestException as exc:
            if exc.status == 404:
                return None  # deleted already, or never a real call: nothing to erase
            return f"Twilio {exc.status} error {exc.code or 'unknown'}"
        except TwilioException as exc:
            return f"Twilio unreachable ({type(exc).__name__})"
        except OSError as exc:
            return f"Twilio unreachable ({type(exc).__name__})"
        return None
