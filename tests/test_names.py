"""facegate.names: the one rule for names, with each entity's messages."""

from __future__ import annotations

import pytest

from facegate import names
from facegate.errors import EmptyField, InvalidName, InvalidParameter


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
    ],
)
def test_blank_long_and_separated_names_are_refused(value: str, error: type, message: str | None):
    with pytest.raises(error) as caught:
        names.check(value, what="Service name", empty=EmptyField("name"))
    if message is not None:
        assert caught.value.message == message


def test_peoples_names_may_hold_separators():
    assert names.check("A/B", what="User's last name", empty=EmptyField("x"), separators=False)
