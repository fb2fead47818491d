"""Names people give things (users, applications, services, subjects): one rule, CompreFace's,
1 to 50 characters and, for the names of things, none of the path separators `; / \\`; and,
for every name, text that both databases store and every URL reaches (no control character,
no unpaired surrogate).

The messages differ by entity, as CompreFace's do (decisions.md C2.1, C2.2); the rule does not.
Subject names follow it on every path that creates, renames, finds or deletes one (D11).
"""

from __future__ import annotations

import re

from facegate.errors import FacegateError, InvalidName, InvalidParameter

MAX_LENGTH = 50
SEPARATORS = frozenset(";/\\")
# Names a URL path cannot hold: clients remove these segments (RFC 3986), so `DELETE
# /subjects/.` is sent as `DELETE /subjects`, which deletes every subject (decisions.md D11).
DOT_SEGMENTS = frozenset({".", ".."})
# PostgreSQL refuses NUL in text, and an unpaired surrogate (JSON's "\ud800") has no UTF-8 form,
# so neither database could store it; SQLite would keep NUL, which made the two disagree. The
# other control characters store, but a name ending in a line break is out of reach of
# /subjects/{subject} (a route's `$` matches before a final newline), and none of them shows.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def check(
    value: str, *, what: str, empty: FacegateError, separators: bool = True, strip: bool = True
) -> str:
    """`value` (stripped when `strip`), or `empty` raised for a blank one, InvalidParameter
    ("<what> size must be between 1 and 50") for a long one or one no database can store,
    InvalidName for separators."""
    if not value.strip():
        raise empty
    if strip:
        value = value.strip()
    if len(value) > MAX_LENGTH:
        raise InvalidParameter(f"{what} size must be between 1 and {MAX_LENGTH}")
    if _FORBIDDEN.search(value):
        raise InvalidParameter(f"{what} cannot contain control characters or unpaired surrogates")
    if separators and SEPARATORS & set(value):
        raise InvalidName()
    if separators and value in DOT_SEGMENTS:
        raise InvalidName(
            f"The name cannot be '{value}': URL clients drop it from a path, so "
            f"/subjects/{value} would reach the whole collection"
        )
    return value


def subject(value: str, *, empty: FacegateError) -> str:
    """A subject's name, kept as sent (CompreFace keeps surrounding spaces), checked by the rule."""
    return check(value, what="Subject name", empty=empty, strip=False)


def is_subject(value: str) -> bool:
    """Whether a subject can bear this name; a lookup of any other finds nothing (D11)."""
    try:
        subject(value, empty=InvalidParameter())
    except FacegateError:
        return False
    return True
