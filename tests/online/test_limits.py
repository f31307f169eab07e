"""The online report holds the report's own limits (ivr/records/limits.py): longer text
is an error that says the limit, in English and Welsh, and what was typed stays on the
page (issue 13 item 10)."""

from __future__ import annotations

from tests.online.walk import answer


def test_text_over_the_limit_says_the_limit(client):
    response = answer(client, "what", {"what": "w" * 20_001})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Keep this to 20,000 characters or fewer" in html
    assert "w" * 20_001 + "</textarea>" in html  # kept as typed

    when = answer(client, "when_text", {"when_text": "t" * 201})
    assert "Keep this to 200 characters or fewer" in when.get_data(as_text=True)
    assert 'maxlength="200"' in when.get_data(as_text=True)


def test_each_person_field_says_its_own_limit(client):
    response = answer(
        client, "subject", {"subject_name": "n" * 201, "subject_collar_number": "1" * 51}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Keep this to 200 characters or fewer" in html
    assert "Keep this to 50 characters or fewer" in html


def test_in_welsh_too(client):
    response = answer(client, "what", {"what": "w" * 20_001}, lang="cy")
    assert "Cadwch hwn i 20,000 o nodau neu lai" in response.get_data(as_text=True)
