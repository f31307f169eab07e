"""Defence in depth for anonymity: no log line carries a phone number.

The webhooks never log request parameters; this filter, on every handler of
the app's and gunicorn's loggers, masks anything that still looks like one.
"""

from __future__ import annotations

import logging
import re

# 10 to 15 digits, optionally led by + or 00 and split by single spaces, standing alone:
# a phone number, but not a timestamp, a CallSid or a database id.
PHONE_LIKE = re.compile(r"(?<![\w+-])(?:\+|00)?\d(?:[ ]?\d){9,14}(?![\w-])")


def redact(text: str) -> str:
    return PHONE_LIKE.sub("[number removed]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info:
            # An exception's message can quote data; keep the traceback, masked.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install(*logger_names: str) -> None:
    """Put the filter on every handler of these loggers (the root logger when none named)."""
    for name in logger_names or ("",):
        for handler in logging.getLogger(name or None).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
