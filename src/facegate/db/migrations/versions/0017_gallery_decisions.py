"""Decisions users can trust: examples set aside from search, rejections ("this is not X") and
the per-service choice of one subject per photo (docs/decisions.md D65-D67).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("examples") as batch:
        batch.add_column(sa.Column("set_aside_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("services") as batch:
        batch.add_column(
            sa.Column("unique_subjects", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "rejections",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("services.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "subject_id",
            sa.Integer(),
            sa.ForeignKey("subjects.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("calculator", sa.String(64), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rejections_service_id", "rejections", ["service_id"])
    op.create_index("ix_rejections_subject_id", "rejections", ["subject_id"])


def downgrade() -> None:
    op.drop_table("rejections")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("unique_subjects")
    with op.batch_alter_table("examples") as batch:
        batch.drop_column("set_aside_at")
