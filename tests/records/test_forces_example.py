"""The example in docs/forces.md, run as a force would run it, against real deliveries
from the delivery worker: genuine ones pass; a changed body, a wrong secret and a
delivery replayed later are refused."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from ivr.core.settings import PROJECT_ROOT
from ivr.records.delivery import Deliverer
from ivr.records.review import approve
from tests.records.conftest import SECRET, delivery_settings, make_report, make_user, routes_to

FORCES_PAGE = PROJECT_ROOT / "docs" / "forces.md"


def _example() -> dict[str, Any]:
    """The page's one Python block, executed: what a force's developer would paste."""
    blocks = re.findall(r"```python\n(.*?)```", FORCES_PAGE.read_text(), re.DOTALL)
    assert len(blocks) == 1, "docs/forces.md should have exactly one Python example"
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], str(FORCES_PAGE), "exec"), namespace)  # noqa: S102 (our own page)
    return namespace


@pytest.fixture
def delivered(sessions, session, forces, cipher, clock, force_server):
    """One real delivery, as the force's server received it: (headers, body)."""
    routes = routes_to(forces, {"kent": ("https", force_server.url)})
    report = make_report(session)
    approve(session, report, make_user(session), routes, now=clock())
    assert Deliverer(sessions, routes, cipher, delivery_settings(), clock).run_once().delivered
    (received,) = force_server.acknowledged
    return received["headers"], received["body"]


def test_the_documented_check_accepts_a_real_delivery(delivered):
    check = _example()["check_delivery"]
    headers, body = delivered
    assert check(SECRET, headers, body) == headers["Idempotency-Key"]


def test_the_documented_check_refuses_a_change_a_wrong_secret_and_a_replay(delivered):
    example = _example()
    check = example["check_delivery"]
    headers, body = delivered
    with pytest.raises(ValueError, match="signature"):
        check(SECRET, headers, body.replace(b"bribery", b"brib3ry"))
    with pytest.raises(ValueError, match="signature"):
        check("x" * 40, headers, body)
    with pytest.raises(ValueError, match="signature"):  # the key is signed too
        check(SECRET, {**headers, "Idempotency-Key": "another-key"}, body)
    with pytest.raises(ValueError, match="signature"):  # and so is the timestamp
        newer = str(int(headers["X-Helpline-Timestamp"]) + 600)
        check(SECRET, {**headers, "X-Helpline-Timestamp": newer}, body)
    later = time.time() + example["TOLERANCE_SECONDS"] + 60
    with pytest.raises(ValueError, match="replayed"):
        check(SECRET, headers, body, now=later)
    with pytest.raises(ValueError, match="missing"):
        check(SECRET, {}, body)
