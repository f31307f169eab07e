"""The online report and a follow-up through the shipped nginx site and `ivr serve`:
nothing of the reporter's connection (address, user agent, what they claim about
their address) reaches the proxy's logs, gunicorn's log, the app's log or the database,
and the shipped site's logging for these pages says so by construction."""

from __future__ import annotations

import re

import requests

from tests.online.walk import ANSWERS
from tests.production.stack import SITE
from tests.stored import everything_stored

USER_AGENT = "Mozilla/5.0 (X11; Linux) ReporterBrowser/99.1 Gecko-UNIQUE-7731"
CLAIMED_ADDRESS = "203.0.113.77"
NEEDLES = [USER_AGENT, "ReporterBrowser", "UNIQUE-7731", CLAIMED_ADDRESS]
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
# Variables that name the client: none may appear in a log format the site uses.
IDENTIFYING = ("$remote_addr", "$binary_remote_addr", "$http_user_agent", "$http_x_forwarded_for",
               "$proxy_add_x_forwarded_for", "$http_referer", "$realip_remote_addr",
               "$request_uri", "$args", "$query_string", "$request ")  # fmt: skip


def test_the_shipped_site_logs_nothing_identifying_for_the_online_pages():
    site = SITE.read_text()
    formats = dict(re.findall(r"log_format\s+(\S+)\s+'([^;]*)';", site))
    used = re.findall(r"^\s*access_log\s+(\S+)(?:\s+(\S+))?;", site, re.MULTILINE)
    assert used, "the site sets no access log of its own (Debian's default logs addresses)"
    for path, name in used:
        assert path != "off" or not name
        assert name in formats, f"access_log {path} uses {name or 'the default format'}"
        for variable in IDENTIFYING:
            assert variable not in formats[name], f"{name} logs {variable}"
    online = re.search(r"location /report/ \{(.*?)\n    \}", site, re.DOTALL)
    assert online, "the site has no location for the online pages"
    # It inherits the server's private log: a log of its own could name another format.
    assert "access_log" not in online.group(1) and "log_format" not in online.group(1)
    # The client's address is never passed on to the app either.
    assert 'proxy_set_header X-Forwarded-For "";' in site
    assert 'proxy_set_header X-Real-IP "";' in site


def test_an_anonymous_online_report_and_follow_up_through_the_proxy(production):
    http = requests.Session()
    cert = str(production.proxy.cert)  # per request: a CA bundle in the environment wins
    http.headers.update(
        {"User-Agent": USER_AGENT, "X-Forwarded-For": CLAIMED_ADDRESS,
         "X-Real-IP": CLAIMED_ADDRESS, "Forwarded": f"for={CLAIMED_ADDRESS}"}
    )  # fmt: skip
    base = production.url

    def post(path: str, form: dict) -> requests.Response:  # type: ignore[type-arg]
        page = http.get(base + path, timeout=60, verify=cert)
        assert page.status_code == 200, (path, page.status_code)
        token = TOKEN.search(page.text).group(1)
        return http.post(base + path, data={**form, "csrf_token": token}, timeout=60, verify=cert)

    for slug, form in ANSWERS:
        assert post(f"/report/q/{slug}", form).status_code == 200
    done = post("/report/check", {})
    assert done.status_code == 200 and "Report sent" in done.text
    assert http.cookies.get("helpline_report")
    reference = re.search(r'id="reference">([^<]+)<', done.text).group(1)
    code = re.search(r'id="code">([^<]+)<', done.text).group(1).replace(" ", "")
    assert post("/report/follow-up", {"reference": reference, "code": "1" * 12}).status_code == 400
    assert "Your report" in post("/report/follow-up", {"reference": reference, "code": code}).text
    added = post("/report/follow-up/add", {"text": "He drives a blue van.", "confirmed": "1"})
    assert "will be checked" in added.text

    proxy_log = production.proxy.access_log.read_text()
    assert "/report/follow-up/add" in proxy_log  # the proxy logs paths…
    logs = {
        "proxy access": proxy_log,
        "proxy error": production.proxy.error_log.read_text()
        if production.proxy.error_log.exists()
        else "",
        "Debian's default access log": production.proxy.debian_access_log.read_text()
        if production.proxy.debian_access_log.exists()
        else "",
        "gunicorn and the app": production.app_log.read_text(),
    }
    stored = everything_stored(production.database_url)
    assert "He drives a blue van." in stored
    for needle in NEEDLES:
        for name, text in logs.items():
            assert needle not in text, f"{needle!r} in {name}"
        assert needle not in stored, f"{needle!r} in the database"
    for name, text in logs.items():
        for line in text.splitlines():
            if "/report" in line:
                assert "127.0.0.1" not in line, f"{name}: {line}"
