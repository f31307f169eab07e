"""Many simulated callers at once against a running helpline, as Twilio would make them,
with what each heard measured: for the fault tests (tests/faults/) and bench/faults.py.

Each caller rings, answers the menus to the queue, waits there (asking the wait URL a
few times) and hangs up. Like Twilio: a request that fails (no answer in 15 s, a
reset, a non-200) goes to the fallback URL; if that fails too the call ends ("hung
up"), and so does a <Hangup>. Pauses are slept, shortened by `pace`.
"""

from __future__ import annotations

import contextlib
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from ivr.sim.twilio import LineDown, SimulatedCall, http_transport
from ivr.sim.walks import Answers, keys_to_queue

# English; an officer; force not sure; bribery; no risk; anonymous: the queue (read
# from the flow, so a changed menu changes nothing here).
KEYS_TO_QUEUE = list(keys_to_queue(Answers(force="unknown")))
TWILIO_TIMEOUT = 15.0


@dataclass
class CallerResult:
    call_sid: str
    requests: int = 0
    non_200: int = 0
    slowest: float = 0.0
    reached_queue: bool = False
    hung_up_by_line: bool = False
    why: str = ""


@dataclass
class FaultRun:
    callers: list[CallerResult] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def requests(self) -> int:
        return sum(c.requests for c in self.callers)

    @property
    def non_200(self) -> int:
        return sum(c.non_200 for c in self.callers)

    @property
    def hung_up(self) -> list[CallerResult]:
        return [c for c in self.callers if c.hung_up_by_line]

    @property
    def slowest(self) -> float:
        return max((c.slowest for c in self.callers), default=0.0)


class _HungUp(Exception):
    pass


class Caller:
    def __init__(self, base_url: str, auth_token: str, waits: int, pace: float) -> None:
        self.call = SimulatedCall(
            transport=http_transport(timeout=TWILIO_TIMEOUT),
            auth_token=auth_token,
            base_url=base_url,
        )
        self.result = CallerResult(self.call.call_sid)
        self.waits = waits
        self.pace = pace
        self.keys = list(KEYS_TO_QUEUE)

    def _post(self, url: str, extra: dict[str, str] | None = None) -> ET.Element:
        started = time.monotonic()
        self.result.requests += 1
        try:
            status, body = self.call.post(url, extra)
        except LineDown as exc:
            status, body = 0, str(exc)
        took = time.monotonic() - started
        self.result.slowest = max(self.result.slowest, took)
        if status == 200 and took <= TWILIO_TIMEOUT:
            try:
                return ET.fromstring(body)  # noqa: S314 (our own server's TwiML)
            except ET.ParseError:
                pass
        self.result.non_200 += 1
        if not url.endswith("/voice/fallback"):  # Twilio tries the fallback URL
            return self._post(urljoin(self.call.base_url, "/voice/fallback"))
        raise _HungUp(f"{url}: HTTP {status}")

    def run(self) -> CallerResult:
        try:
            document = self._post(urljoin(self.call.base_url, "/voice/incoming"))
            url = "/voice/incoming"
            while True:
                step = self._play(document, url)
                if step is None:
                    break
                url, extra = step
                document = self._post(urljoin(self.call.base_url, url), extra)
        except _HungUp as exc:
            self.result.hung_up_by_line = True
            self.result.why = str(exc)
        finally:
            with contextlib.suppress(LineDown):
                self.call.hang_up(duration=30)
        return self.result

    def _play(self, document: ET.Element, url: str) -> tuple[str, dict[str, str]] | None:
        for verb in document:
            if verb.tag == "Pause":
                time.sleep(int(verb.get("length", "1")) * self.pace)
            elif verb.tag == "Gather":
                if not self.keys:
                    return None
                return verb.get("action", ""), {"Digits": self.keys.pop(0)}
            elif verb.tag == "Redirect":
                return verb.text or "", {}
            elif verb.tag == "Enqueue":
                self.result.reached_queue = True
                self._wait_in_queue(verb)
                return None
            elif verb.tag == "Hangup":
                raise _HungUp(f"{url}: <Hangup>")
        return None

    def _wait_in_queue(self, enqueue: ET.Element) -> None:
        for n in range(self.waits):
            extra = {"QueueTime": str(10 * n), "QueuePosition": "1", "CurrentQueueSize": "1"}
            document = self._post(urljoin(self.call.base_url, enqueue.get("waitUrl", "")), extra)
            for verb in document:
                if verb.tag == "Hangup":
                    raise _HungUp("wait URL: <Hangup>")
                if verb.tag == "Pause":
                    time.sleep(int(verb.get("length", "1")) * self.pace)


def ring_many(
    base_url: str,
    auth_token: str,
    callers: int,
    *,
    waits: int = 3,
    pace: float = 0.05,
    stagger: float = 0.05,
    during: Callable[[], None] | None = None,
) -> FaultRun:
    """`callers` callers at once (started `stagger` s apart); `during` runs beside them
    (the fault). Returns when every caller is done."""
    run = FaultRun()
    threads = []

    def one() -> None:
        result = Caller(base_url, auth_token, waits, pace).run()
        with run.lock:
            run.callers.append(result)

    fault = threading.Thread(target=during, daemon=True) if during else None
    if fault:
        fault.start()
    for _ in range(callers):
        thread = threading.Thread(target=one, daemon=True)
        thread.start()
        threads.append(thread)
        time.sleep(stagger)
    for thread in threads:
        thread.join()
    if fault:
        fault.join()
    return run


def warm_up(base_url: str, auth_token: str, requests: int = 12, within: float = 60.0) -> None:
    """Wait until the server answers (its workers have booted), so the first callers'
    figures are the fault's and not gunicorn's start-up."""
    call = SimulatedCall(
        transport=http_transport(timeout=20), auth_token=auth_token, base_url=base_url
    )
    deadline = time.monotonic() + within
    answered = 0
    while answered < requests and time.monotonic() < deadline:
        try:
            status, _ = call.post("/voice/fallback")
        except LineDown:
            status = 0
        if status == 200:
            answered += 1
        else:
            time.sleep(0.2)
    if answered < requests:
        raise LineDown(f"{base_url} did not answer within {within:g} s")
