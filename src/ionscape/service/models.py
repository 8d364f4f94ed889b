"""The database tables, as typed SQLAlchemy 2.0 ORM classes.

Every schema change needs a new Alembic revision in ``migrations/versions``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

DATASET_STATUSES = ("queued", "running", "finished", "failed")
JOB_STATUSES = ("queued", "running", "done", "failed")
VISIBILITIES = ("private", "group", "public")
GROUP_ROLES = ("admin", "member")


def new_id() -> str:
    """A random 32-hex-digit id (not guessable, so ids leak nothing about other records)."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as naive UTC, returned timezone-aware, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base of all tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


def _id_column() -> Mapped[str]:
    return mapped_column(String(32), primary_key=True, default=new_id)


def _created_column() -> Mapped[datetime]:
    return mapped_column(default=utcnow)


def _user_fk(ondelete: str = "CASCADE", nullable: bool = False) -> Mapped[Any]:
    return mapped_column(ForeignKey("users.id", ondelete=ondelete), index=True, nullable=nullable)


class User(Base):
    """A person with an account."""

    __tablename__ = "users"

    id: Mapped[str] = _id_column()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = _created_column()


class ApiKey(Base):
    """A key for scripts; only a hash of its secret is kept."""

    __tablename__ = "api_keys"

    id: Mapped[str] = _id_column()
    user_id: Mapped[str] = _user_fk()
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created_column()

    user: Mapped[User] = relationship(lazy="joined")


class BrowserSession(Base):
    """A logged-in browser: the cookie holds a token whose hash is the id; writes need the CSRF token."""

    __tablename__ = "browser_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = _user_fk()
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)

    user: Mapped[User] = relationship(lazy="joined")


class Group(Base):
    """A lab or team whose members see the datasets shared with it."""

    __tablename__ = "groups"

    id: Mapped[str] = _id_column()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = _created_column()

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="group", cascade="all, delete-orphan", passive_deletes=True
    )


class Membership(Base):
    """A user's role in a group: ``admin`` (manages members) or ``member``."""

    __tablename__ = "memberships"

    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))

    group: Mapped[Group] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(lazy="joined")


class MolDB(Base):
    """A custom molecular database uploaded by a user (a validated CSV/TSV in storage)."""

    __tablename__ = "moldbs"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[str] = _id_column()
    owner_id: Mapped[str] = _user_fk()
    name: Mapped[str] = mapped_column(String(100))
    storage_key: Mapped[str] = mapped_column(String(500))
    n_molecules: Mapped[int]
    n_formulas: Mapped[int]
    targeted: Mapped[bool | None]
    created_at: Mapped[datetime] = _created_column()


class Upload(Base):
    """A resumable upload session: declared files (name, size, sha256) whose chunks arrive by offset."""

    __tablename__ = "uploads"

    id: Mapped[str] = _id_column()
    owner_id: Mapped[str] = _user_fk()
    files: Mapped[list[Any]]
    committed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created_column()


class Dataset(Base):
    """An imzML dataset with its metadata, annotation settings, status and results."""

    __tablename__ = "datasets"
    __table_args__ = (Index("ix_datasets_created", "created_at"),)

    id: Mapped[str] = _id_column()
    owner_id: Mapped[str] = _user_fk()
    name: Mapped[str] = mapped_column(String(300))
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    group_id: Mapped[str | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    sample_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    polarity: Mapped[str] = mapped_column(String(16))
    organism: Mapped[str] = mapped_column(String(200), default="", index=True)
    config: Mapped[dict[str, Any]]
    databases: Mapped[list[Any]]
    input_files: Mapped[list[Any]]
    results_key: Mapped[str | None] = mapped_column(String(500))
    annotation_counts: Mapped[list[Any]] = mapped_column(default=list)
    n_annotations: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = _created_column()
    finished_at: Mapped[datetime | None]

    owner: Mapped[User] = relationship(lazy="joined")
    group: Mapped[Group | None] = relationship()
    jobs: Mapped[list[Job]] = relationship(
        order_by="Job.id", cascade="all, delete-orphan", passive_deletes=True, back_populates="dataset"
    )

    @property
    def latest_job(self) -> Job | None:
        """The most recent annotation job of this dataset."""
        return self.jobs[-1] if self.jobs else None


class Job(Base):
    """One annotation run of a dataset, in the durable queue (claimed in id order)."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    worker_id: Mapped[str | None] = mapped_column(String(100))
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_column()
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    dataset: Mapped[Dataset] = relationship(back_populates="jobs")


class Annotation(Base):
    """One row of a dataset's annotation table (database, formula, modifiers, adduct)."""

    __tablename__ = "annotations"
    __table_args__ = (Index("ix_annotations_dataset_msm", "dataset_id", "msm"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    database: Mapped[str] = mapped_column(String(200))
    formula: Mapped[str] = mapped_column(String(200))
    adduct: Mapped[str] = mapped_column(String(50))
    chem_mod: Mapped[str] = mapped_column(String(50))
    neutral_loss: Mapped[str] = mapped_column(String(50))
    ion: Mapped[str] = mapped_column(String(300))
    ion_formula: Mapped[str] = mapped_column(String(200))
    mz: Mapped[float] = mapped_column(Float)
    msm: Mapped[float] = mapped_column(Float)
    fdr: Mapped[float | None] = mapped_column(Float)
    chaos: Mapped[float] = mapped_column(Float)
    spatial: Mapped[float] = mapped_column(Float)
    spectral: Mapped[float] = mapped_column(Float)
    mz_err_abs: Mapped[float | None] = mapped_column(Float)
    mz_err_rel: Mapped[float | None] = mapped_column(Float)
    peaks: Mapped[dict[str, Any]]
    molecules: Mapped[list[Any]]
    molecule_names: Mapped[str] = mapped_column(Text)


class Project(Base):
    """A collection of datasets; shared by a secret review link, then published (public, read-only)."""

    __tablename__ = "projects"

    id: Mapped[str] = _id_column()
    owner_id: Mapped[str] = _user_fk()
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    review_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    published_at: Mapped[datetime | None]
    doi: Mapped[str | None] = mapped_column(String(300))
    paper_url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = _created_column()

    owner: Mapped[User] = relationship(lazy="joined")


class ProjectDataset(Base):
    """Membership of a dataset in a project."""

    __tablename__ = "project_datasets"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True, index=True
    )
