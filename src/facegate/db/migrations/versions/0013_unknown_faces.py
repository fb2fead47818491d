"""Unknown faces: a service may keep the faces recognition matches to no one, in clusters.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(
            sa.Column("keep_unknown_faces", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "unknown_clusters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("services.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("calculator", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_unknown_clusters_service_id", "unknown_clusters", ["service_id"])
    op.create_table(
        "unknown_faces",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("services.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "cluster_id",
            sa.Integer(),
            sa.ForeignKey("unknown_clusters.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("calculator", sa.String(64), nullable=False),
        sa.Column("chip", sa.LargeBinary(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(64), nullable=True),
    )
    op.create_index("ix_unknown_faces_service_id", "unknown_faces", ["service_id"])
    op.create_index("ix_unknown_faces_cluster_id", "unknown_faces", ["cluster_id"])
    op.create_index("ix_unknown_faces_seen_at", "unknown_faces", ["seen_at"])


def downgrade() -> None:
    op.drop_table("unknown_faces")
    op.drop_table("unknown_clusters")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("keep_unknown_faces")
