"""At most one global OWNER: a partial unique index on users.global_role.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OWNER_ONLY = sa.text("global_role = 'OWNER'")


def upgrade() -> None:
    # A race before this revision may have left two OWNERs: the first account keeps the role.
    op.execute(
        "UPDATE users SET global_role = 'ADMINISTRATOR' WHERE global_role = 'OWNER' "
        "AND id <> (SELECT min(id) FROM users WHERE global_role = 'OWNER')"
    )
    op.create_index(
        "uq_users_one_owner",
        "users",
        ["global_role"],
        unique=True,
        sqlite_where=OWNER_ONLY,
        postgresql_where=OWNER_ONLY,
    )


def downgrade() -> None:
    op.drop_index("uq_users_one_owner", table_name="users")
