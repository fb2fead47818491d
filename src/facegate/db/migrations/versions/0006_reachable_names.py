"""Subject names that break the one rule for names (decisions.md D11) are renamed to names that
follow it, so that every stored subject can be found, renamed and deleted by name.

Before this revision `POST /recognition/faces?subject=` stored any non-blank name: with `; / \\`
(unreachable through `/subjects/{subject}`), over 50 characters, or holding control characters
(NUL on SQLite only; a final line break is out of reach of the URL too). Each such name becomes:
control characters removed, each of `; / \\` replaced by `_`, cut to 50 characters,
`unnamed` if nothing but blanks is left, and ` (2)`, ` (3)`... appended when the result is
already another subject's name in the service, compared case-insensitively as subjects are.
Examples stay with their subject; each rename is logged.

The rule is written out here rather than imported, so this revision does the same thing
whatever later versions of `facegate.names` say.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MAX_LENGTH = 50
SEPARATORS = ";/\\"
REPLACEMENT = "_"
BLANK = "unnamed"
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

log = logging.getLogger("facegate.migrations")

subjects = sa.table(
    "subjects",
    sa.column("id", sa.Integer),
    sa.column("service_id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("name_key", sa.String),
)
services = sa.table("services", sa.column("id", sa.Integer), sa.column("version", sa.Integer))


def follows_rule(name: str) -> bool:
    """The rule of revision 0006: 1 to 50 characters, not blank, no control character, none of
    `; / \\`. (Unpaired surrogates cannot have been stored: neither driver encodes them.)"""
    return (
        bool(name.strip())
        and len(name) <= MAX_LENGTH
        and not CONTROL.search(name)
        and not any(c in name for c in SEPARATORS)
    )


def reachable(name: str) -> str:
    """The name `name` becomes, before de-duplication."""
    name = CONTROL.sub("", name)
    for separator in SEPARATORS:
        name = name.replace(separator, REPLACEMENT)
    name = name[:MAX_LENGTH]
    return name if name.strip() else BLANK


def unique(name: str, taken: set[str]) -> str:
    """`name`, or `name (n)` cut to fit 50 characters, whose folded form is not in `taken`."""
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        suffix = f" ({n})"
        candidate = name[: MAX_LENGTH - len(suffix)] + suffix
    return candidate


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            subjects.c.id, subjects.c.service_id, subjects.c.name, subjects.c.name_key
        ).order_by(subjects.c.id)
    ).all()
    # Every folded name of the service (the unique index's), old ones of the names being fixed
    # included, so that no update collides with a row not renamed yet; new ones join as chosen.
    taken: defaultdict[int, set[str]] = defaultdict(set)
    for _, service_id, _, name_key in rows:
        taken[service_id].add(name_key)
    changed: set[int] = set()
    for subject_id, service_id, name, _ in rows:
        if follows_rule(name):
            continue
        new = unique(reachable(name), taken[service_id])
        taken[service_id].add(new.lower())
        connection.execute(
            sa.update(subjects)
            .where(subjects.c.id == subject_id)
            .values(name=new, name_key=new.lower())
        )
        changed.add(service_id)
        log.warning(
            "Subject %r of service %d renamed to %r (decisions.md D11)", name, service_id, new
        )
    if changed:
        # Running servers of an older version reload their index, and with it the new names.
        connection.execute(
            sa.update(services)
            .where(services.c.id.in_(sorted(changed)))
            .values(version=services.c.version + 1)
        )


def downgrade() -> None:
    """The old names are not kept: a downgrade leaves the new ones, which older versions accept."""
