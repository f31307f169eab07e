"""A deadline kept by the client for each statement on an engine (the migrations').

A PostgreSQL server that is frozen (stopped with SIGSTOP, a hung host, a network that
holds every packet) enforces none of its own timeouts, and its kernel still answers
TCP's keepalives, so a statement sent to it waits for ever. Past the deadline the
connection's socket is shut: the statement fails at once, and NoAnswer says why.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError

_WATCH = "ivr.no_answer"


class NoAnswer(SQLAlchemyError):
    """The database did not answer a statement within the deadline; its connection is cut."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer from the database within {seconds:g} s")
        self.seconds = seconds


class _Watch:
    """Shuts a DBAPI connection's socket once `seconds` have passed, unless stopped first."""

    def __init__(self, dbapi_connection: Any, seconds: float) -> None:
        self.expired = False
        self._connection = dbapi_connection
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            if self._connection is None or self._connection.closed:
                return
            self.expired = True
            # In a timer's thread nothing may escape as a traceback: a connection that
            # is already broken has nothing left to shut.
            with contextlib.suppress(Exception):
                # A duplicate of psycopg's descriptor: shutting it shuts the one socket
                # both name, and the statement waiting on it ends.
                fd = self._connection.pgconn.socket
                with socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:  # a shut in progress finishes first; none starts after
            self._connection = None


def cut_off_unanswered(engine: Engine, seconds: float) -> None:
    """Each statement on `engine`'s connections (and each COMMIT) gets `seconds` to be
    answered; one that is not fails with NoAnswer. For PostgreSQL (psycopg) engines."""

    def watch(conn: Any) -> None:
        stop(conn.info)
        conn.info[_WATCH] = _Watch(conn.connection.dbapi_connection, seconds)

    def stop(info: dict[Any, Any]) -> _Watch | None:
        watching = info.pop(_WATCH, None)
        if watching is not None:
            watching.stop()
        return watching

    def failed(context: Any) -> None:
        watching = stop(context.connection.info) if context.connection is not None else None
        if watching is not None and watching.expired:
            raise NoAnswer(seconds) from context.original_exception

    event.listen(engine, "before_cursor_execute", lambda conn, *_: watch(conn))
    event.listen(engine, "after_cursor_execute", lambda conn, *_: stop(conn.info))
    event.listen(engine, "commit", watch)
    event.listen(engine, "handle_error", failed)
    # Given back or closed (after its COMMIT): nothing of it is waited for any more.
    event.listen(engine, "checkin", lambda _dbapi, record: stop(record.info))
    event.listen(engine, "close", lambda _dbapi, record: stop(record.info))
