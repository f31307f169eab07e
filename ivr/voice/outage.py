"""When something behind a webhook fails or is slow (the database, most often): every
webhook still answers TwiML within `DEADLINE_SECONDS`, and no caller is hung up on
for a blip.

- The work of a webhook has at most `DEADLINE_SECONDS` (Twilio gives up at 15 s).
  Whatever the database does (refuses, hangs, crawls, holds a lock), the caller hears
  words in time. In a gunicorn sync worker (a request on the process's main thread) the
  work runs in that thread under a timer (SIGALRM) that interrupts it at the deadline,
  and again every `AGAIN_SECONDS` while its clean-up blocks too; the request's database
  connections are then dropped, not rolled back on a server that does not answer. A
  hand-off to another thread cost each webhook 0.25-0.55 ms of CPU
  (docs/benchmarks.md), a quarter of its own work. Elsewhere (a threaded development
  server, the console's test server) the work runs in a small pool of threads and the
  request waits for it at most the deadline; a request left running there finishes or
  fails on its own, and requests beyond the pool's threads are answered at once.
  SQLite waits for a lock inside its own C code, where no signal reaches; its busy
  timeout (ivr/core/db.py) is shorter than the deadline, so it gives up in time.
- What the caller hears then depends on where they are, and none of it needs the
  database:
  - waiting in the queue (the wait URL): a reassurance and a pause; Twilio then asks
    the wait URL again, and the caller keeps their place;
  - in the menus (or ringing in): an apology and an offer to hold while we try
    again (`/voice/resume`), which picks the call up where it is stored; after
    `RESUME_TRIES` failed tries, the apology that says how else to report, and
    goodbye;
  - a status callback or the end of a queue wait: an empty answer (the call's end
    is recorded later by the sweep, ivr/voice/sweep.py).
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from flask import copy_current_request_context
from twilio.twiml.voice_response import VoiceResponse

from ivr.core.db import Interrupted, let_go_of_the_database
from ivr.voice import urls
from ivr.voice.flows.catalogue import Flow

# Twilio waits 15 s for an answer; gunicorn replaces a worker stuck for 12 s.
DEADLINE_SECONDS = 8.0
# Threads per process running webhooks' work; a hung database holds at most these.
WORKER_THREADS = 8
# How many times a caller is offered to hold while we try again, before goodbye.
RESUME_TRIES = 3
# The pause before trying again: long enough for a database restart to finish.
RESUME_PAUSE_SECONDS = 4
# After a deadline has passed, for a while requests get a short one: a hung database
# then costs each caller about a second, not DEADLINE_SECONDS (and requests do not
# queue behind each other in a busy worker for longer than Twilio waits).
SHORT_DEADLINE_SECONDS = 1.5
SHORT_DEADLINE_FOR_SECONDS = 10.0
# After the timer has rung, it rings again this often until the work has let go: its
# clean-up (a rollback on a server that does not answer) may block as well.
AGAIN_SECONDS = 0.25

T = TypeVar("T")


class DeadlinePassed(Interrupted):
    """The webhook's work did not finish within the deadline."""


class _Pool:
    """One thread pool per process, made after gunicorn's fork; it remembers when a
    deadline last passed, and how many threads are busy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self.last_passed = -1e9
        self.busy = 0

    def started(self) -> None:
        with self._lock:
            self.busy += 1

    def finished(self, _future: object = None) -> None:
        with self._lock:
            self.busy -= 1

    def get(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._executor is None or self._pid != os.getpid():
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=WORKER_THREADS, thread_name_prefix="webhook"
                )
                self._pid = os.getpid()
            return self._executor


_pool = _Pool()


def within_deadline(work: Callable[[], T], seconds: float | None = None) -> T:
    """Run `work` (in this request's context) and return what it returns, or raise
    DeadlinePassed after `seconds` (DEADLINE_SECONDS); its own exceptions pass through."""
    seconds = DEADLINE_SECONDS if seconds is None else seconds
    if time.monotonic() - _pool.last_passed < SHORT_DEADLINE_FOR_SECONDS:
        seconds = min(seconds, SHORT_DEADLINE_SECONDS)
    if threading.current_thread() is threading.main_thread():
        return _on_a_timer(work, seconds)
    return _on_a_pool_thread(work, seconds)


class _Timer:
    """SIGALRM for the request on the main thread. It interrupts only while `armed`: a
    ring that comes as the work ends (between its last line and the timer's reset)
    is ignored, never raised into Flask's or gunicorn's own code."""

    armed = False

    @classmethod
    def ring(cls, _signum: int, _frame: object) -> None:
        if not cls.armed:
            return
        signal.setitimer(signal.ITIMER_REAL, AGAIN_SECONDS)
        raise DeadlinePassed("no answer within the deadline")


def _on_a_timer(work: Callable[[], T], seconds: float) -> T:
    previous = signal.signal(signal.SIGALRM, _Timer.ring)
    _Timer.armed = True
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return work()
    except DeadlinePassed:
        _stop_timer(previous)
        _pool.last_passed = time.monotonic()
        let_go_of_the_database()
        raise
    finally:
        _stop_timer(previous)


def _stop_timer(previous: object) -> None:
    _Timer.armed = False
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)  # type: ignore[arg-type]


def _on_a_pool_thread(work: Callable[[], T], seconds: float) -> T:
    executor = _pool.get()
    if _pool.busy >= WORKER_THREADS:  # every thread is stuck: do not queue behind them
        _pool.last_passed = time.monotonic()
        raise DeadlinePassed("every webhook thread is busy")
    _pool.started()
    future = executor.submit(copy_current_request_context(work))
    future.add_done_callback(_pool.finished)
    try:
        return future.result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        _pool.last_passed = time.monotonic()
        future.cancel()  # not started: it never will be
        raise DeadlinePassed(f"no answer within {seconds:g} s") from None


def _say(response: VoiceResponse, flow: Flow, language: str, key: str, online: str) -> None:
    voice = flow.voices[language]
    text = flow.prompt(language, key, online=online)
    if text:
        response.say(text, voice=voice.voice, language=voice.language)


def keep_holding(flow: Flow, language: str, online: str, pause_seconds: int) -> VoiceResponse:
    """For the wait URL: reassurance and a pause. Twilio asks the wait URL again when
    this ends, and the caller stays in the queue where they were."""
    response = VoiceResponse()
    _say(response, flow, flow.spoken_language(language), "queue.hold", online)
    response.pause(length=pause_seconds)
    return response


def hold_and_try_again(flow: Flow, language: str, online: str, tries: int) -> VoiceResponse:
    """For a caller in the menus: sorry, please hold, we try again; after the last try,
    the apology with the other ways to report, and goodbye."""
    language = flow.spoken_language(language)
    response = VoiceResponse()
    if tries >= RESUME_TRIES:
        _say(response, flow, language, "notice.error", online)
        response.hangup()
        return response
    _say(response, flow, language, "notice.hold", online)
    response.pause(length=RESUME_PAUSE_SECONDS)
    response.redirect(urls.resume(tries + 1), method="POST")
    return response
