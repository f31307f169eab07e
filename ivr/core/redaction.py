"""What reaches a log line: no phone number, and no line a request could forge.

The webhooks never log request parameters; this filter, on every handler of the app's
and gunicorn's loggers, masks anything that still looks like a phone number, and
escapes control characters, so that a request for `/voice/step/x%0A2026-12-01 ...`
cannot write a line of its own into the app's log or gunicorn's access log.
"""

from __future__ import annotations

import logging
import re

# 10 to 15 digits, optionally led by + or 00 and split by single spaces, standing alone:
# a phone number, but not a timestamp, a CallSid or a database id.
PHONE_LIKE = re.compile(r"(?<![\w+-])(?:\+|00)?\d(?:[ ]?\d){9,14}(?![\w-])")

# C0 and C1 control characters, DEL, and Unicode's line and paragraph separators:
# everything a terminal or a log reader might take as the end of a line (or worse).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def redact(text: str) -> str:
    return PHONE_LIKE.sub("[number removed]", text)


def escape_controls(text: str) -> str:
    """Each control character as Python writes it in a string: \\n, \\x1b, \\u2028."""
    return CONTROL.sub(lambda found: repr(found.group())[1:-1], text)


def _indented(text: str) -> str:
    # A traceback keeps its lines, each indented under the record's own line, so that
    # none (an exception's message included) can pass for a record of its own.
    return "\n".join("    " + escape_controls(line) for line in text.splitlines())


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = escape_controls(redact(message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            # An exception's message can quote data; keep the traceback, masked.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = _indented(redact(text))
            record.exc_info = None
        return True


def install(*logger_names: str) -> None:
    """Put the filter on every handler of these loggers (the root logger when none named)."""
    for name in logger_names or ("",):
        for handler in logging.getLogger(name or None).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
