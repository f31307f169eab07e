"""Saving a report while it is written: the service behind the console's report form."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.core.categories import load_categories
from ivr.core.settings import PROJECT_ROOT
from ivr.models import AuditEntry, ReportStatus
from ivr.records.drafts import Change, DraftEdit, SaveRefused, SubjectEdit, save_draft
from tests.records.conftest import make_report, make_user

CATEGORIES = load_categories(PROJECT_ROOT / "config")


def typed(**changes) -> DraftEdit:  # type: ignore[no-untyped-def]
    edit = DraftEdit(
        categories=["bribery"],
        what="He takes cash from a dealer to tip him off about raids.",
        when_text="last month",
        where="outside the station",
        how_known="saw",
        risk_now=False,
        subjects=[SubjectEdit(name="PC Subject 0", role="officer", force="kent")],
    )
    for name, value in changes.items():
        setattr(edit, name, value)
    return edit


def test_only_the_author_saves_and_only_a_draft(session, cipher, forces):
    author = make_user(session, "handler")
    draft = make_report(session, status="draft", created_by_id=author.id)
    with pytest.raises(SaveRefused):
        save_draft(
            session, draft, make_user(session, "handler"), typed(), Change.SAVE, cipher, forces,
            CATEGORIES,
        )  # fmt: skip
    submitted = make_report(session, status="submitted", created_by_id=author.id)
    with pytest.raises(SaveRefused):
        save_draft(session, submitted, author, typed(), Change.SAVE, cipher, forces, CATEGORIES)


def test_what_is_typed_is_kept_and_the_change_audited_by_field_name(session, cipher, forces):
    author = make_user(session, "handler")
    draft = make_report(session, status="draft", created_by_id=author.id)
    saved = save_draft(
        session,
        draft,
        author,
        typed(when_text="x" * 200, how_known="guessed", subjects=[SubjectEdit(role="boss")]),
        Change.SAVE,
        cipher,
        forces,
        CATEGORIES,
    )
    assert not saved.submitted and saved.problems == {}
    assert draft.when_text == "x" * 200 and draft.how_known is None
    assert [(s.role, s.force) for s in draft.subjects] == [("unknown", "unknown")]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).one()
    assert entry.detail["changed"] == ["when", "how_known", "subjects"]
    assert entry.detail["version"] == saved.version == 2
    assert "x" * 20 not in str(entry.detail)


def test_text_over_a_limit_is_refused_by_name_and_limit_and_nothing_is_cut(session, cipher, forces):
    """Issue 13 item 10: 30,000 characters of "what happened" were cut to 20,000, 10,000
    of "when" to 200 and 25 people to 20, while the page said "Draft saved"."""
    author = make_user(session, "handler")
    draft = make_report(session, status="draft", created_by_id=author.id, what="as it was")
    people = [SubjectEdit(name=f"PC {n}") for n in range(25)]
    saved = save_draft(
        session,
        draft,
        author,
        typed(what="w" * 30_000, when_text="t" * 10_000, subjects=people),
        Change.SAVE,
        cipher,
        forces,
        CATEGORIES,
    )
    assert not saved.kept and not saved.submitted
    assert saved.problems["what"] == (
        "What happened can be at most 20,000 characters; this is 30,000. Shorten it."
    )
    assert saved.problems["when_text"].startswith("When can be at most 200 characters")
    assert saved.problems["subjects"].startswith("A report can be about at most 20 people")
    session.expire_all()
    assert draft.what == "as it was" and draft.version == 1  # nothing of the save kept
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).all() == []


def test_submitting_an_incomplete_report_keeps_the_draft_and_says_what_is_missing(
    session, cipher, forces
):
    author = make_user(session, "handler")
    draft = make_report(session, status="draft", created_by_id=author.id)
    saved = save_draft(
        session, draft, author, typed(what=""), Change.SUBMIT, cipher, forces, CATEGORIES
    )
    assert not saved.submitted and "what" in saved.problems
    assert draft.status == ReportStatus.DRAFT
    saved = save_draft(session, draft, author, typed(), Change.SUBMIT, cipher, forces, CATEGORIES)
    assert saved.submitted and draft.status == ReportStatus.SUBMITTED
    assert draft.submitted_at is not None
