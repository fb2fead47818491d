"""Embeddings kept per (example, model), the ordered record of collection writes, and the
running servers with their models.

An example's embedding moves from `examples` to `embeddings`, keyed by model, so a model switch
adds the new model's embeddings beside the old ones (decisions.md D29). `collection_changes`
records every collection write under the service version it made, so other processes follow
writes row by row instead of reloading whole services (decisions.md D28).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "embeddings",
        sa.Column(
            "example_id",
            sa.String(36),
            sa.ForeignKey("examples.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("calculator", sa.String(64), primary_key=True),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
    )
    op.create_index("ix_embeddings_calculator", "embeddings", ["calculator"])
    op.create_index("ix_embeddings_service_calculator", "embeddings", ["service_id", "calculator"])
    op.execute(
        "INSERT INTO embeddings (example_id, calculator, vector, service_id) "
        "SELECT e.id, e.calculator, e.embedding, s.service_id "
        "FROM examples e JOIN subjects s ON s.id = e.subject_id"
    )
    with op.batch_alter_table("examples") as batch:
        batch.drop_column("embedding")
        batch.drop_column("calculator")
    op.create_table(
        "collection_changes",
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("services.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
    )
    op.create_table(
        "running_servers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("process", sa.String(128), nullable=False),
        sa.Column("calculator", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("running_servers")
    op.drop_table("collection_changes")
    with op.batch_alter_table("examples") as batch:
        batch.add_column(sa.Column("embedding", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("calculator", sa.String(64), nullable=True))
    # An example keeps one embedding here: the one of the model that embedded it last is as
    # good a choice as any (a downgrade during a model switch loses the other).
    op.execute(
        "UPDATE examples SET embedding = (SELECT vector FROM embeddings e "
        "WHERE e.example_id = examples.id ORDER BY e.calculator LIMIT 1), "
        "calculator = (SELECT calculator FROM embeddings e "
        "WHERE e.example_id = examples.id ORDER BY e.calculator LIMIT 1)"
    )
    op.drop_table("embeddings")
