"""explanations and their arrays

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "explanations",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.String(1000), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("model_name", sa.String(255), nullable=True),
        sa.Column("model_version", sa.String(255), nullable=True),
        sa.Column("engineered", sa.Boolean(), nullable=False),
        sa.Column("output_space", sa.String(32), nullable=False),
        sa.Column("scorer", sa.String(64), nullable=True),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("n_features", sa.Integer(), nullable=False),
        sa.Column("n_classes", sa.Integer(), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("classes", sa.JSON(), nullable=True),
        sa.Column("top_k", sa.Integer(), nullable=True),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_explanations"),
    )
    op.create_index("ix_explanations_source_created", "explanations", ["source", "created"])
    op.create_index("ix_explanations_comment", "explanations", ["comment"])
    op.create_table(
        "explanation_arrays",
        sa.Column("explanation_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["explanation_id"],
            ["explanations.id"],
            name="fk_explanation_arrays_explanation_id_explanations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("explanation_id", "name", name="pk_explanation_arrays"),
    )


def downgrade() -> None:
    op.drop_table("explanation_arrays")
    op.drop_index("ix_explanations_comment", table_name="explanations")
    op.drop_index("ix_explanations_source_created", table_name="explanations")
    op.drop_table("explanations")
