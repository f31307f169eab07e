"""The shipped nginx site, read as text: what it may never log or pass on. (The tests
beside this one run it; these say why a change to it would be refused.)"""

from __future__ import annotations

import re

from tests.production.stack import SITE

# Variables that carry something of the caller: address, software, where they came
# from, or the query string (which the request line and the raw URI include).
CALLER_VARIABLES = (
    "$remote_addr",
    "$binary_remote_addr",
    "$remote_port",
    "$http_x_forwarded_for",
    "$proxy_add_x_forwarded_for",
    "$http_user_agent",
    "$http_referer",
    "$request ",
    '$request"',
    "$request_uri",
    "$args",
    "$query_string",
    "$arg_",
    "$http_cookie",
)


def _directives(name: str) -> list[str]:
    return re.findall(rf"^\s*{name}\s+([^;]*);", SITE.read_text(), flags=re.M)


def test_the_access_log_holds_nothing_of_a_caller():
    (log_format,) = _directives("log_format")
    assert log_format.startswith("helpline_private ")
    for variable in CALLER_VARIABLES:
        assert variable not in log_format + " ", variable
    # Times to the hour: nginx's own times are to the second (or finer).
    assert log_format.split()[1] == "'$helpline_hour"
    for exact in ("$time_iso8601", "$time_local", "$msec"):
        assert exact not in log_format, exact
    access_logs = _directives("access_log")
    servers = len(re.findall(r"^server \{", SITE.read_text(), flags=re.M))
    assert len(access_logs) == servers
    assert all(log.endswith(" helpline_private") for log in access_logs)
    # Error lines carry the client's address: only nginx's own failures are kept.
    assert all(log.endswith(" crit") for log in _directives("error_log"))


def test_the_app_is_never_told_who_is_asking():
    headers = dict(
        (parts[0], parts[1] if len(parts) > 1 else "")
        for parts in (d.split(None, 1) for d in _directives("proxy_set_header"))
    )
    for name in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        assert headers[name] == '""', name
    assert headers["X-Forwarded-Proto"] == "$scheme"


def test_tls_hsts_limits_and_buffering_are_set():
    text = SITE.read_text()
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in text
    assert 'add_header Strict-Transport-Security "max-age=63072000' in text
    assert re.search(r"location /voice/ \{[^}]*client_max_body_size 16k;", text)
    assert "proxy_request_buffering on;" in text and "proxy_buffering on;" in text
    assert "gzip off;" in text
    # The path goes on as it arrived (no URI part after the upstream): Twilio signed it.
    assert all(p == "http://helpline_app" for p in _directives("proxy_pass"))
