"""facegate.names: the one rule for names, with each entity's messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facegate import names
from facegate.db.tables import Subject
from facegate.errors import EmptyField, FacegateError, InvalidName, InvalidParameter


def test_a_valid_name_comes_back_stripped_unless_asked_not_to():
    assert names.check("  Front door ", what="Application name", empty=EmptyField("name")) == (
        "Front door"
    )
    kept = names.check(" a ", what="Subject name", empty=EmptyField("subject"), strip=False)
    assert kept == " a "


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("   ", EmptyField, "Field name cannot be empty"),
        ("x" * 51, InvalidParameter, "Service name size must be between 1 and 50"),
        ("a/b", InvalidName, None),
        ("a;b", InvalidName, None),
        ("a\\b", InvalidName, None),
        (".", InvalidName, None),  # a URL client drops it: /subjects/. is /subjects
        ("..", InvalidName, None),
    ],
)
def test_blank_long_and_separated_names_are_refused(value: str, error: type, message: str | None):
    with pytest.raises(error) as caught:
        names.check(value, what="Service name", empty=EmptyField("name"))
    if message is not None:
        assert caught.value.message == message


def test_peoples_names_may_hold_separators():
    assert names.check("A/B", what="User's last name", empty=EmptyField("x"), separators=False)


@pytest.mark.parametrize("value", ["a\x00b", "\x00", "a\ud800", "\udfff b"])
@pytest.mark.parametrize("what", ["Subject name", "Application name", "User's first name"])
def test_text_no_database_can_store_is_refused_in_every_name(value: str, what: str):
    """NUL (PostgreSQL refuses it) and unpaired surrogates (no UTF-8 form): a 400, never a 500."""
    with pytest.raises(InvalidParameter) as caught:
        names.check(value, what=what, empty=EmptyField("x"), separators=what != "User's first name")
    expected = f"{what} cannot contain control characters or unpaired surrogates"
    assert caught.value.message == expected
    assert caught.value.status == 400


SUBJECTS_OK = ["Zoë O'Brien", "José", " spaced ", "100% + #1 ?&=", "😀" * 50, "İ" * 50, "a:b|c"]
SUBJECTS_NOT = ["", "  ", "a/b", "a;b", "a\\b", "x" * 51, "😀" * 51, "a\x00", "\ud800"]


@pytest.mark.parametrize("value", SUBJECTS_OK)
def test_subject_names_are_kept_as_sent(value: str):
    assert names.subject(value, empty=EmptyField("subject")) == value
    assert names.is_subject(value)


@pytest.mark.parametrize("value", SUBJECTS_NOT)
def test_is_subject_answers_what_subject_refuses(value: str):
    assert not names.is_subject(value)
    with pytest.raises(FacegateError):
        names.subject(value, empty=EmptyField("subject"))


def test_every_valid_subject_name_fits_its_columns():
    """50 characters of any kind, folded for the unique index (`"İ".lower()` is 2 characters,
    the most any character grows), fit `subjects.name` and `subjects.name_key` on PostgreSQL."""
    growth = max(len(chr(c).lower()) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert growth == 2
    assert Subject.__table__.c.name.type.length >= names.MAX_LENGTH
    assert names.MAX_LENGTH * growth <= Subject.__table__.c.name_key.type.length


# Any character, with the separators, NUL, spaces and unpaired surrogates (which
# `st.characters()` seldom draws) made common: about a fifth of the examples are valid names.
@settings(max_examples=200, deadline=None)
@given(st.text(st.characters() | st.sampled_from(";/\\\0 \ud800\udfff"), max_size=60))
def test_a_name_is_a_subject_exactly_when_the_rule_accepts_it(value: str):
    try:
        accepted = names.subject(value, empty=EmptyField("subject"))
    except FacegateError as error:
        assert error.status == 400
        assert not names.is_subject(value)
    else:
        assert names.is_subject(value)
        assert accepted == value
        accepted.encode("utf-8")  # storable: no unpaired surrogate
        assert "\x00" not in accepted and 1 <= len(accepted) <= names.MAX_LENGTH
