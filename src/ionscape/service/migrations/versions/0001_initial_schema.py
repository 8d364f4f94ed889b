"""Initial schema: users and credentials, groups, molecular databases, uploads, datasets, the job
queue, annotations and projects.

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
    return sa.Column("id", sa.String(32), primary_key=True)


def _created() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(), nullable=False)


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(), nullable=nullable)


def _fk(name: str, target: str, ondelete: str = "CASCADE", nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(32), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable)


def _text(name: str, length: int | None = None, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length) if length else sa.Text(), nullable=nullable)


def _json(name: str) -> sa.Column:
    return sa.Column(name, sa.JSON(), nullable=False)


def _float(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Float(), nullable=nullable)


def _serial() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table("groups", _id(), _text("name", 200), _created(), sa.UniqueConstraint("name"))
    op.create_table(
        "users",
        _id(),
        _text("email", 320),
        _text("name", 200),
        _text("password_hash", 300),
        _created(),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "api_keys",
        _id(),
        _fk("user_id", "users.id"),
        _text("name", 200),
        _text("secret_hash", 64),
        _created(),
        sa.UniqueConstraint("secret_hash"),
    )
    op.create_table(
        "browser_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        _fk("user_id", "users.id"),
        _text("csrf_token", 64),
        _created(),
        _when("expires_at", nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column(
            "group_id", sa.String(32), sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        _text("role", 16),
    )
    op.create_table(
        "moldbs",
        _id(),
        _fk("owner_id", "users.id"),
        _text("name", 100),
        _text("storage_key", 500),
        sa.Column("n_molecules", sa.Integer(), nullable=False),
        sa.Column("n_formulas", sa.Integer(), nullable=False),
        sa.Column("targeted", sa.Boolean(), nullable=True),
        _created(),
        sa.UniqueConstraint("owner_id", "name"),
    )
    op.create_table(
        "uploads", _id(), _fk("owner_id", "users.id"), _json("files"), _when("committed_at"), _created()
    )
    op.create_table(
        "datasets",
        _id(),
        _fk("owner_id", "users.id"),
        _text("name", 300),
        _text("visibility", 16),
        _fk("group_id", "groups.id", ondelete="SET NULL", nullable=True),
        _text("status", 16),
        _json("metadata"),
        _text("polarity", 16),
        _text("organism", 200),
        _json("config"),
        _json("databases"),
        _json("input_files"),
        _text("results_key", 500, nullable=True),
        _json("annotation_counts"),
        sa.Column("n_annotations", sa.Integer(), nullable=False),
        _created(),
        _when("finished_at"),
    )
    op.create_table(
        "jobs",
        _serial(),
        _fk("dataset_id", "datasets.id"),
        _text("status", 16),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _text("worker_id", 100, nullable=True),
        _json("progress"),
        _text("error", nullable=True),
        _created(),
        _when("started_at"),
        _when("heartbeat_at"),
        _when("lease_expires_at"),
        _when("finished_at"),
    )
    op.create_table(
        "annotations",
        _serial(),
        _fk("dataset_id", "datasets.id"),
        _text("database", 200),
        _text("formula", 200),
        _text("adduct", 50),
        _text("chem_mod", 50),
        _text("neutral_loss", 50),
        _text("ion", 300),
        _text("ion_formula", 200),
        *(_float(name) for name in ("mz", "msm")),
        _float("fdr", nullable=True),
        *(_float(name) for name in ("chaos", "spatial", "spectral")),
        *(_float(name, nullable=True) for name in ("mz_err_abs", "mz_err_rel")),
        _json("peaks"),
        _json("molecules"),
        _text("molecule_names"),
    )
    op.create_table(
        "projects",
        _id(),
        _fk("owner_id", "users.id"),
        _text("name", 300),
        _text("description"),
        _text("visibility", 16),
        _text("review_token_hash", 64, nullable=True),
        _when("published_at"),
        _text("doi", 300, nullable=True),
        _text("paper_url", 1000, nullable=True),
        _created(),
        sa.UniqueConstraint("review_token_hash"),
    )
    op.create_table(
        "project_datasets",
        sa.Column(
            "project_id", sa.String(32), sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "dataset_id", sa.String(32), sa.ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
        ),
    )
    for table, columns in _INDEXES:
        op.create_index(_index_name(table, columns), table, list(columns))


_INDEXES = (
    ("api_keys", ("user_id",)),
    ("browser_sessions", ("expires_at",)),
    ("browser_sessions", ("user_id",)),
    ("memberships", ("user_id",)),
    ("moldbs", ("owner_id",)),
    ("uploads", ("owner_id",)),
    ("datasets", ("created_at",)),
    ("datasets", ("group_id",)),
    ("datasets", ("organism",)),
    ("datasets", ("owner_id",)),
    ("datasets", ("status",)),
    ("jobs", ("dataset_id",)),
    ("jobs", ("status", "id")),
    ("annotations", ("dataset_id", "msm")),
    ("projects", ("owner_id",)),
    ("project_datasets", ("dataset_id",)),
)
# composite indexes carry a short explicit name in the models; single-column ones follow SQLAlchemy's
_NAMED = {
    ("datasets", ("created_at",)): "ix_datasets_created",
    ("jobs", ("status", "id")): "ix_jobs_status_id",
    ("annotations", ("dataset_id", "msm")): "ix_annotations_dataset_msm",
}


def _index_name(table: str, columns: tuple[str, ...]) -> str:
    return _NAMED.get((table, columns), f"ix_{table}_{'_'.join(columns)}")


def downgrade() -> None:
    for table in (
        "project_datasets",
        "projects",
        "annotations",
        "jobs",
        "datasets",
        "uploads",
        "moldbs",
        "memberships",
        "browser_sessions",
        "api_keys",
        "users",
        "groups",
    ):
        op.drop_table(table)
