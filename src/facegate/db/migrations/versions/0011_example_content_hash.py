"""Each example may record the SHA-256 of its photo's bytes, so a bulk import that is run again
skips the photos already enrolled (decisions.md D22). NULL for examples stored before.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("examples") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(64), nullable=True))
        batch.create_index("ix_examples_content_hash", ["content_hash"])


def downgrade() -> None:
    with op.batch_alter_table("examples") as batch:
        batch.drop_index("ix_examples_content_hash")
        batch.drop_column("content_hash")
