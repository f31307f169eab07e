"""Walking the online report through Flask's test client, as a browser without
JavaScript would: GET a page, read its CSRF token, POST the answer, follow the redirect."""

from __future__ import annotations

import re
from typing import Any

ANSWERS: list[tuple[str, dict[str, Any]]] = [
    ("risk_now", {"risk_now": "no"}),
    ("force", {"force": "kent"}),
    ("role", {"role": "officer"}),
    ("categories", {"categories": ["bribery", "other"]}),
    ("what", {"what": "An officer sold the names of witnesses to a local gang."}),
    ("when_text", {"when_text": "spring 2024"}),
    ("where", {"where": "Maidstone police station"}),
    ("subject", {"subject_name": "PC Smith", "subject_collar_number": "1234"}),
    ("how_known", {"how_known": "saw"}),
    ("anonymous", {"anonymous": "yes"}),
]


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def answer(client: Any, slug: str, form: dict[str, Any], **query: str) -> Any:
    page = client.get(f"/report/q/{slug}", query_string=query)
    assert page.status_code == 200, (slug, page.status_code)
    return client.post(
        f"/report/q/{slug}",
        data={**form, "csrf_token": csrf(page.get_data(as_text=True))},
        query_string=query,
    )


def walk_to_check(client: Any, answers: list[tuple[str, dict[str, Any]]] = ANSWERS) -> Any:
    for slug, form in answers:
        response = answer(client, slug, form)
        assert response.status_code == 302, (slug, response.get_data(as_text=True)[:2000])
    return client.get("/report/check")


def send(client: Any) -> Any:
    page = client.get("/report/check")
    assert page.status_code == 200
    return client.post("/report/check", data={"csrf_token": csrf(page.get_data(as_text=True))})


def shown_code(html: str) -> tuple[str, str]:
    reference = re.search(r'id="reference">([^<]+)<', html)
    code = re.search(r'id="code">([^<]+)<', html)
    assert reference and code
    return reference.group(1), code.group(1).replace(" ", "")
