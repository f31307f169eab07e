"""Every console route refuses a signed-out visitor (redirect to sign-in) and the
wrong role (403), found by walking the app's URL map, so a new route cannot slip by."""

from __future__ import annotations

import re

import pytest

from ivr.models import StaffRole
from tests.console_helpers import add_user, sign_in

ROLES = tuple(StaffRole)

# The second sign-in step and enrolment check the first step themselves (test_two_factor).
PUBLIC = {"console.login", "console.login_code", "console.login_enrol", "console.static"}
# Which roles each console endpoint is for. A new endpoint must be added here.
ALLOWED = {
    "console.home": set(ROLES),
    "console.logout": set(ROLES),
    "console.account": set(ROLES),
    "console.change_password": set(ROLES),
    "console.change_phone": set(ROLES),
    "console.replace_recovery_codes": set(ROLES),
    "console.queue": {"handler", "supervisor"},
    "console.queue_rows": {"handler", "supervisor"},
    "console.take_next": {"handler", "supervisor"},
    "console.take": {"handler", "supervisor"},
    "console.change_availability": {"handler", "supervisor"},
    "console.my_reports": {"handler", "supervisor"},
    "console.report": {"handler", "supervisor"},
    "console.save_report": {"handler", "supervisor"},
    "console.review": {"supervisor"},
    "console.review_report": {"supervisor"},
    "console.approve_report": {"supervisor"},
    "console.return_report": {"supervisor"},
    "console.redirect_delivery": {"supervisor"},
    "console.sanitise": {"supervisor"},
    "console.users": {"admin"},
    "console.user_edit": {"admin"},
    "console.reset_two_factor": {"admin"},
    "console.test_call": {"supervisor", "admin"},
    "console.test_call_start": {"supervisor", "admin"},
    "console.test_call_keys": {"supervisor", "admin"},
    "console.test_call_say": {"supervisor", "admin"},
    "console.test_call_silence": {"supervisor", "admin"},
    "console.test_call_hang_up": {"supervisor", "admin"},
    "console.flows": {"supervisor", "admin"},
    "console.calls": {"supervisor", "admin"},
    "console.call": {"supervisor", "admin"},
    "console.figures_page": {"supervisor", "admin"},
    "console.figures_csv": {"supervisor", "admin"},
    "console.audit_page": {"supervisor", "admin"},
    "console.online_reports": {"handler", "supervisor"},
    "console.take_online": {"handler", "supervisor"},
    "console.report_followup": {"handler", "supervisor"},
    "console.new_code": {"handler", "supervisor"},
    "console.ask_question": {"supervisor"},
    "console.follow_ups": {"supervisor"},
    "console.approve_follow_up": {"supervisor"},
    "console.calls_csv": {"supervisor", "admin"},
    "console.find_report": {"handler", "supervisor"},
    "console.close_test_report": {"supervisor"},
    "console.unknown_page": set(ROLES),
    "console.check": {"handler", "supervisor"},
    "console.record_outcome": {"supervisor"},
}


def _example(part: str) -> str:
    """A value for a route's part: an id for a number, else a reference."""
    return "1" if part.startswith(("<int:", "<call_id:")) else "AAAA-BBBB"


def console_requests(app):
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("console.") or rule.endpoint in PUBLIC:
            continue
        url = re.sub(r"<(?:\w+:)?[^>]+>", lambda m: _example(m.group(0)), rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def test_every_console_endpoint_is_listed(app):
    endpoints = {e for e, _m, _u in console_requests(app)}
    assert endpoints == set(ALLOWED), "a console route was added or removed: list its roles"


def test_signed_out_visitors_are_sent_to_sign_in(client, app):
    seen = 0
    for _endpoint, method, url in console_requests(app):
        response = client.open(url, method=method)
        assert response.status_code == 302, (method, url, response.status_code)
        assert response.headers["Location"].startswith("/console/login"), (method, url)
        seen += 1
    assert seen >= len(ALLOWED)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_what_is_not_for_it(app, role):
    add_user(app, f"some-{role}", role)
    client = app.test_client()
    assert sign_in(client, f"some-{role}").status_code == 302
    refused = 0
    for endpoint, method, url in console_requests(app):
        if role in ALLOWED[endpoint] or endpoint == "console.logout":
            continue
        response = client.open(url, method=method)
        assert response.status_code == 403, (role, method, url, response.status_code)
        refused += 1
    assert refused > 0


def test_a_view_without_roles_is_refused_even_to_an_admin(app):
    """Deny by default: a view that forgets @roles answers 403."""
    bp_views = app.view_functions
    app.add_url_rule("/console/forgotten", endpoint="console.forgotten", view_func=lambda: "oops")
    assert "console.forgotten" in bp_views
    add_user(app, "root", "admin")
    client = app.test_client()
    sign_in(client, "root")
    assert client.get("/console/forgotten").status_code == 403


def test_security_headers_on_every_console_page(client, app):
    add_user(app, "sam", "handler")
    for url in ("/console/login",):
        _check_headers(client.get(url))
    sign_in(client, "sam")
    for url in ("/console/queue", "/console/reports", "/console/account", "/console/queue/rows"):
        response = client.get(url)
        assert response.status_code == 200, url
        _check_headers(response)
        page = response.get_data(as_text=True)
        assert "http://" not in page.replace("http://localhost", "") and "https://" not in page


def _check_headers(response):
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


MENU = {
    "/console/queue": "console.queue",
    "/console/reports": "console.my_reports",
    "/console/online": "console.online_reports",
    "/console/review": "console.review",
    "/console/follow-ups": "console.follow_ups",
    "/console/calls": "console.calls",
    "/console/figures": "console.figures_page",
    "/console/audit": "console.audit_page",
    "/console/test-call": "console.test_call",
    "/console/flows": "console.flows",
    "/console/users": "console.users",
}


@pytest.mark.parametrize("role", ROLES)
def test_the_menu_shows_each_role_what_it_opens(app, role):
    """The menu asks the same table as the guard: every link opens, none is missing."""
    add_user(app, f"menu-{role}", role)
    client = app.test_client()
    sign_in(client, f"menu-{role}")
    page = client.get("/console/account").get_data(as_text=True)
    nav = page[page.index('<nav id="menu"') : page.index("</nav>")]
    shown = set(re.findall(r'href="(/console/[^"?]*)"', nav))
    # Every role's menu also holds its own account (and the sign-out button).
    expected = {url for url, endpoint in MENU.items() if role in ALLOWED[endpoint]}
    expected.add("/console/account")
    assert shown == expected
