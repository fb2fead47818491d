"""Subjects named `.` or `..` are renamed, so that every stored subject can again be found,
renamed and deleted by name (decisions.md D11, D94).

The rule for names refuses these two since revision 0006 was written (URL clients drop such a
segment from a path, so `DELETE /subjects/.` arrived as `DELETE /subjects`), but no revision
renamed the subjects already stored under them: a lookup by name found nothing. Each becomes
its dots replaced by `_` (`_`, `__`), with ` (2)`, ` (3)`... appended when that is already
another subject's name in the service, compared case-insensitively as subjects are. Examples
stay with their subject. Each rename is logged and recorded as a collection change under a new
service version, so that running servers' indexes take the new name without a reload.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import logging
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

DOT_SEGMENTS = (".", "..")

log = logging.getLogger("facegate.migrations")

subjects = sa.table(
    "subjects",
    sa.column("id", sa.Integer),
    sa.column("service_id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("name_key", sa.String),
)
services = sa.table("services", sa.column("id", sa.Integer), sa.column("version", sa.Integer))
changes = sa.table(
    "collection_changes",
    sa.column("service_id", sa.Integer),
    sa.column("version", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("detail", sa.JSON),
)


def renamed(name: str, taken: set[str]) -> str:
    """`name` with its dots as `_`, numbered when its folded form is in `taken`."""
    base = name.replace(".", "_")
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{base} ({n})"
    return candidate


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(subjects.c.id, subjects.c.service_id, subjects.c.name)
        .where(subjects.c.name.in_(DOT_SEGMENTS))
        .order_by(subjects.c.id)
    ).all()
    if not rows:
        return
    taken: defaultdict[int, set[str]] = defaultdict(set)
    for service_id, name_key in connection.execute(
        sa.select(subjects.c.service_id, subjects.c.name_key).where(
            subjects.c.service_id.in_({row.service_id for row in rows})
        )
    ):
        taken[service_id].add(name_key)
    for subject_id, service_id, name in rows:
        new = renamed(name, taken[service_id])
        taken[service_id].add(new.lower())
        connection.execute(
            sa.update(subjects)
            .where(subjects.c.id == subject_id)
            .values(name=new, name_key=new.lower())
        )
        version = connection.execute(
            sa.update(services)
            .where(services.c.id == service_id)
            .values(version=services.c.version + 1)
            .returning(services.c.version)
        ).scalar_one()
        # collection.changes.Kind.RENAMED, written out: this revision stays as it is.
        connection.execute(
            sa.insert(changes).values(
                service_id=service_id,
                version=version,
                kind="renamed",
                detail={"subject": subject_id, "name": new},
            )
        )
        log.warning(
            "Subject %r of service %d renamed to %r (decisions.md D94)", name, service_id, new
        )


def downgrade() -> None:
    """The old names are not kept: a downgrade leaves the new ones, which older versions accept."""
