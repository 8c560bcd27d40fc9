"""Initial schema: supernets, searches, evaluations, fronts, predictor fits, exports.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True, nullable=False)


def _search_fk() -> sa.Column:
    return sa.Column("search_id", sa.Integer(), sa.ForeignKey("searches.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    when = sa.DateTime(timezone=True)
    op.create_table(
        "supernets",
        _id(),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("task", sa.String(500), nullable=False),
        sa.Column("space", sa.JSON(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("class_names", sa.JSON(), nullable=False),
        sa.Column("checkpoint_path", sa.Text(), nullable=False),
        sa.Column("checkpoint_sha256", sa.String(64), nullable=False),
        sa.Column("train_metrics", sa.JSON(), nullable=False),
        sa.Column("created_at", when, nullable=False),
    )
    op.create_index("ix_supernets_checkpoint_sha256", "supernets", ["checkpoint_sha256"])
    op.create_table(
        "searches",
        _id(),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("supernet_id", sa.Integer(), sa.ForeignKey("supernets.id"), nullable=True),
        sa.Column("strategy", sa.String(50), nullable=False),
        sa.Column("objectives", sa.JSON(), nullable=False),
        sa.Column("constraints", sa.JSON(), nullable=False),
        sa.Column("budget", sa.Integer(), nullable=False),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("hv_reference", sa.JSON(), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("updated_at", when, nullable=False),
    )
    op.create_table(
        "evaluations",
        _id(),
        _search_fk(),
        sa.Column("arch_id", sa.String(64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("predictions", sa.JSON(), nullable=True),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("device", sa.String(100), nullable=True),
        sa.Column("started_at", when, nullable=True),
        sa.Column("finished_at", when, nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.UniqueConstraint("search_id", "arch_id", name="uq_evaluation_search_arch"),
    )
    op.create_index("ix_evaluations_search_id", "evaluations", ["search_id"])
    op.create_table(
        "fronts",
        _id(),
        _search_fk(),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("hypervolume", sa.Float(), nullable=False),
        sa.Column("n_evaluated", sa.Integer(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.UniqueConstraint("search_id", "iteration", name="uq_front_search_iteration"),
    )
    op.create_index("ix_fronts_search_id", "fronts", ["search_id"])
    op.create_table(
        "predictor_fits",
        _id(),
        _search_fk(),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("objective", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("kendall_tau", sa.Float(), nullable=True),
        sa.Column("mape", sa.Float(), nullable=True),
        sa.Column("n_train", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.UniqueConstraint("search_id", "iteration", "objective", name="uq_fit_search_iter_obj"),
    )
    op.create_index("ix_predictor_fits_search_id", "predictor_fits", ["search_id"])
    op.create_table(
        "exports",
        _id(),
        _search_fk(),
        sa.Column("arch_id", sa.String(64), nullable=False),
        sa.Column("format", sa.String(50), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("created_at", when, nullable=False),
    )
    op.create_index("ix_exports_search_id", "exports", ["search_id"])


def downgrade() -> None:
    for table in ("exports", "predictor_fits", "fronts", "evaluations", "searches", "supernets"):
        op.drop_table(table)
