"""No request can forge a log line: control characters in anything logged are escaped,
in the app's log and in gunicorn's access log."""

from __future__ import annotations

import logging
import re

from ivr.core.redaction import RedactingFilter, escape_controls

FORGED = "x\n2026-12-01 13:00:00,000 ERROR ivr forged: the database was dropped"


def _format(record: logging.LogRecord) -> str:
    RedactingFilter().filter(record)
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s").format(record)


def _record(msg: str, args: object = None, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("ivr.test", logging.WARNING, __file__, 1, msg, args, exc_info)  # type: ignore[arg-type]


def test_escape_controls_writes_each_as_python_would():
    assert escape_controls("a\nb\rc\x1b[31md\x00e\u2028f\x85g\th") == (
        "a\\nb\\rc\\x1b[31md\\x00e\\u2028f\\x85g\\th"
    )
    assert escape_controls("caf\u00e9 \u00f4 ok") == "caf\u00e9 \u00f4 ok"


def test_a_path_with_a_line_break_stays_on_its_line():
    text = _format(_record("refused a webhook request to %s", ("/voice/step/" + FORGED,)))
    assert len(text.splitlines()) == 1
    assert "\\n2026-12-01 13:00:00,000 ERROR" in text


def test_gunicorn_access_atoms_are_escaped_too():
    # gunicorn logs its access line as a format string with a dict of atoms.
    atoms = {"t": "[now]", "m": "POST", "U": FORGED, "s": 403}
    text = _format(_record('%(t)s "%(m)s %(U)s" %(s)s', atoms))
    assert len(text.splitlines()) == 1


def test_an_exception_message_cannot_start_a_line():
    try:
        raise ValueError(FORGED)
    except ValueError:
        import sys

        record = _record("it failed", exc_info=sys.exc_info())
    lines = _format(record).splitlines()
    assert lines[1].startswith("    Traceback")
    assert all(line.startswith("    ") for line in lines[1:])
    assert not any(re.match(r"\d{4}-\d\d-\d\d ", line) for line in lines[1:])
