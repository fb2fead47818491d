"""Names people give things (users, applications, services, subjects): CompreFace's one rule,
1 to 50 characters and, for the names of things, none of the path separators `; / \\`.

The messages differ by entity, as CompreFace's do (decisions.md C2.1, C2.2); the rule does not.
"""

from __future__ import annotations

from facegate.errors import FacegateError, InvalidName, InvalidParameter

MAX_LENGTH = 50
SEPARATORS = frozenset(";/\\")


def check(
    value: str, *, what: str, empty: FacegateError, separators: bool = True, strip: bool = True
) -> str:
    """`value` (stripped when `strip`), or `empty` raised for a blank one, InvalidParameter
    ("<what> size must be between 1 and 50") for a long one, InvalidName for separators."""
    if not value.strip():
        raise empty
    if strip:
        value = value.strip()
    if len(value) > MAX_LENGTH:
        raise InvalidParameter(f"{what} size must be between 1 and {MAX_LENGTH}")
    if separators and SEPARATORS & set(value):
        raise InvalidName()
    return value
