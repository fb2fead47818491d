"""Server flags record their holder (host and process), so a killed holder's flag can be taken
over at once on its own host instead of after it goes stale.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("server_flags") as batch:
        batch.add_column(sa.Column("holder", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("server_flags") as batch:
        batch.drop_column("holder")
