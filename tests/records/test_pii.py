"""What could identify an anonymous caller is found, with spans; some of it blocks approval."""

from __future__ import annotations

from ivr.models import Report, ReportSubject
from ivr.records.pii import approval_refusal, find_in_report, find_in_text


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in find_in_text(text, "what")]


def test_phone_numbers_are_found_in_any_usual_form():
    for number in [
        "07700 900123",
        "07700900123",
        "+44 7700 900123",
        "020 7946 0018",
        "0161 496 0000",
    ]:
        assert ("phone", number) in kinds(f"ring {number} after six"), number


def test_dates_times_and_collar_numbers_are_not_phone_numbers():
    found = kinds("On 2023 11 05 at 14:00 PC 12345 was seen at the station.")
    assert [k for k in found if k[0] == "phone"] == []


def test_email_addresses_and_postcodes_are_found():
    found = kinds("Write to jo.bloggs+x@example.co.uk; she lives at SW1A 1AA, not m1 1ae.")
    assert ("email", "jo.bloggs+x@example.co.uk") in found
    assert ("postcode", "SW1A 1AA") in found
    assert ("postcode", "m1 1ae") in found


def test_first_person_words_are_highlighted_with_the_first_hand_detail_beside_them():
    found = kinds("My husband is a DC. He told me I can't leave; I saw it myself.")
    assert ("first_person", "My husband") in found
    assert ("first_person", "told me") in found
    assert ("first_person", "I saw") in found
    assert ("first_person", "it myself") in found
    # "DC" is not "I"; the word "it" alone is not first person.
    assert all(f[0] == "first_person" for f in found)


def test_spans_point_at_the_text():
    text = "Call 07700 900123 or x@y.org"
    for finding in find_in_text(text, "what"):
        assert text[finding.start : finding.end] == finding.text


def anonymous_report(**fields: str) -> Report:
    report = Report(reference="R1", anonymous=True, **fields)
    report.subjects = [ReportSubject(position=0, name="PC Jones", force="kent")]
    return report


def test_a_clean_anonymous_report_may_be_approved():
    report = anonymous_report(what="An officer sells information to a local gang.")
    assert approval_refusal(report) is None


def test_a_phone_number_in_an_anonymous_report_refuses_approval_with_the_field_named():
    report = anonymous_report(what="He rang the caller on 07700 900123.")
    reason = approval_refusal(report)
    assert reason is not None and "a phone number in What happened" in reason


def test_an_email_in_a_subjects_field_refuses_approval_too():
    report = anonymous_report(what="Nothing identifying.")
    report.subjects[0].description = "messages the caller from pc.jones@example.com"
    reason = approval_refusal(report)
    assert reason is not None and "an e-mail address in Person 1's description" in reason
    fields = {f.field for f in find_in_report(report)}
    assert "subjects[0].description" in fields


def test_postcodes_and_first_person_words_are_highlighted_but_do_not_block():
    report = anonymous_report(what="I saw it at the station in SW1A 1AA.")
    assert {f.kind for f in find_in_report(report)} == {"first_person", "postcode"}
    assert approval_refusal(report) is None


def test_a_report_with_contact_details_is_not_held_back():
    report = anonymous_report(what="Call me on 07700 900123.")
    report.anonymous = False
    assert approval_refusal(report) is None
