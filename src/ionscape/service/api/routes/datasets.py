"""Datasets: submit (validate, then queue), list with filters, share, edit, delete, re-run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ionscape.errors import IonscapeError
from ionscape.service import queue
from ionscape.service.api.deps import (
    CurrentUser,
    EditableDataset,
    SessionDep,
    StorageDep,
    ViewerDep,
    VisibleDataset,
    published_dataset,
)
from ionscape.service.api.routes import PageOffset
from ionscape.service.models import Dataset, Membership, ProjectDataset, Upload, new_id
from ionscape.service.schemas import (
    DatasetCreate,
    DatasetMetadata,
    DatasetOut,
    DatasetUpdate,
    JobOut,
    Message,
    Page,
    UserRef,
)
from ionscape.service.submissions import build_config, imzml_and_ibd, resolve_databases, validate_imzml

router = APIRouter(prefix="/datasets", tags=["datasets"])

Limit = Annotated[int, Query(ge=1, le=500)]


def dataset_out(dataset: Dataset, viewer_id: str | None, read_only: bool) -> DatasetOut:
    """The API view of a dataset; the job's error is shown to the owner only."""
    is_owner = dataset.owner_id == viewer_id
    job = dataset.latest_job
    job_out = None
    if job is not None:
        job_out = JobOut.model_validate(job)
        if not is_owner:
            job_out.error = None
    return DatasetOut(
        id=dataset.id,
        name=dataset.name,
        owner=UserRef.model_validate(dataset.owner),
        visibility=dataset.visibility,
        group_id=dataset.group_id,
        status=dataset.status,
        metadata=DatasetMetadata.model_validate(dataset.sample_metadata),
        config=dataset.config,
        databases=[db["name"] for db in dataset.databases],
        n_annotations=dataset.n_annotations,
        annotation_counts=dataset.annotation_counts,
        created_at=dataset.created_at,
        finished_at=dataset.finished_at,
        job=job_out,
        can_edit=is_owner and not read_only,
    )


def _read_only_ids(session: Session, ids: list[str]) -> set[str]:
    return set(session.scalars(select(Dataset.id).where(Dataset.id.in_(ids), published_dataset(Dataset.id))))


def _check_sharing(session: Session, user_id: str, visibility: str, group_id: str | None) -> str | None:
    """The group to store: required and joined for ``group`` visibility, dropped otherwise."""
    if visibility != "group":
        return None
    if group_id is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "visibility 'group' needs a group_id")
    if session.get(Membership, (group_id, user_id)) is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"you are not a member of group {group_id}"
        )
    return group_id


@router.post("", status_code=status.HTTP_201_CREATED)
def submit_dataset(
    body: DatasetCreate, user: CurrentUser, session: SessionDep, storage: StorageDep
) -> DatasetOut:
    """Check a committed upload's imzML, the metadata and the settings, then queue the annotation job."""
    upload = session.get(Upload, body.upload_id)
    if upload is None or upload.owner_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"upload {body.upload_id} not found")
    if upload.committed_at is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "commit the upload first (POST /uploads/{id}/commit)")
    group_id = _check_sharing(session, user.id, body.visibility, body.group_id)
    i_imzml, i_ibd = imzml_and_ibd(upload.files)
    imzml, ibd = upload.files[i_imzml], upload.files[i_ibd]
    try:
        config = build_config(body.metadata, body.settings)
        databases = resolve_databases(session, user.id, body.settings.databases)
        validate_imzml(storage, imzml["key"], imzml["name"], ibd["size"])
    except IonscapeError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    dataset_id = new_id()
    stem = imzml["name"][: -len(".imzML")]
    inputs = []
    for spec, suffix in ((imzml, ".imzML"), (ibd, ".ibd")):
        key = f"datasets/{dataset_id}/input/{stem}{suffix}"
        inputs.append({"name": spec["name"], "key": key, "size": spec["size"], "sha256": spec["sha256"]})
    dataset = Dataset(
        id=dataset_id,
        owner_id=user.id,
        name=body.name,
        visibility=body.visibility,
        group_id=group_id,
        sample_metadata=body.metadata.model_dump(mode="json"),
        polarity=body.metadata.polarity,
        organism=body.metadata.organism,
        config=config.to_ds_config(),
        databases=databases,
        input_files=inputs,
    )
    session.add(dataset)
    queue.enqueue(session, dataset)
    for spec, target in zip((imzml, ibd), inputs, strict=True):
        storage.move(spec["key"], target["key"])
    session.delete(upload)
    session.commit()
    storage.delete(f"uploads/{upload.id}")
    session.refresh(dataset)
    return dataset_out(dataset, user.id, read_only=False)


@router.get("")
def list_datasets(
    session: SessionDep,
    viewer: ViewerDep,
    q: Annotated[str | None, Query(description="part of the name")] = None,
    polarity: Literal["positive", "negative"] | None = None,
    organism: Annotated[str | None, Query(description="part of the organism")] = None,
    submitter: Annotated[str | None, Query(description="user id of the submitter")] = None,
    group_id: str | None = None,
    project_id: str | None = None,
    status_: Annotated[
        Literal["queued", "running", "finished", "failed"] | None, Query(alias="status")
    ] = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    limit: Limit = 50,
    offset: PageOffset = 0,
) -> Page[DatasetOut]:
    """Datasets visible to the caller, newest first, with status, progress and annotation counts."""
    conditions = [viewer.datasets()]
    if q:
        conditions.append(Dataset.name.ilike(f"%{q}%"))
    if polarity:
        conditions.append(Dataset.polarity == polarity)
    if organism:
        conditions.append(Dataset.organism.ilike(f"%{organism}%"))
    if submitter:
        conditions.append(Dataset.owner_id == submitter)
    if group_id:
        conditions.append(Dataset.group_id == group_id)
    if project_id:
        in_project = select(ProjectDataset.dataset_id).where(ProjectDataset.project_id == project_id)
        conditions.append(Dataset.id.in_(in_project))
    if status_:
        conditions.append(Dataset.status == status_)
    if created_after:
        conditions.append(Dataset.created_at >= _utc(created_after, "created_after"))
    if created_before:
        conditions.append(Dataset.created_at < _utc(created_before, "created_before"))
    total = session.scalar(select(func.count()).select_from(Dataset).where(*conditions)) or 0
    datasets = list(
        session.scalars(
            select(Dataset)
            .where(*conditions)
            .options(selectinload(Dataset.jobs))
            .order_by(Dataset.created_at.desc(), Dataset.id)
            .limit(limit)
            .offset(offset)
        )
    )
    read_only = _read_only_ids(session, [d.id for d in datasets])
    items = [dataset_out(d, viewer.user_id, d.id in read_only) for d in datasets]
    return Page[DatasetOut](items=items, total=total, limit=limit, offset=offset)


def _utc(moment: datetime, name: str) -> datetime:
    """``moment`` in UTC; 422 when that falls outside the years 1 to 9999 (e.g. 0001-01-01T00:00+14:00)."""
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment
    except OverflowError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} is out of range") from None


@router.get("/{dataset_id}")
def get_dataset(dataset: VisibleDataset, session: SessionDep, viewer: ViewerDep) -> DatasetOut:
    """One dataset with its job's status and progress per stage."""
    return dataset_out(dataset, viewer.user_id, bool(_read_only_ids(session, [dataset.id])))


@router.patch("/{dataset_id}")
def update_dataset(
    body: DatasetUpdate, user: CurrentUser, dataset: EditableDataset, session: SessionDep
) -> DatasetOut:
    """Rename, share (private / group / public) or re-describe a dataset (owner only)."""
    if body.name is not None:
        dataset.name = body.name
    if body.metadata is not None:
        dataset.sample_metadata = body.metadata.model_dump(mode="json")
        dataset.polarity, dataset.organism = body.metadata.polarity, body.metadata.organism
    if body.visibility is not None or body.group_id is not None:
        visibility = body.visibility or dataset.visibility
        dataset.group_id = _check_sharing(session, user.id, visibility, body.group_id or dataset.group_id)
        dataset.visibility = visibility
    session.commit()
    return dataset_out(dataset, user.id, read_only=False)


@router.delete("/{dataset_id}")
def delete_dataset(
    user: CurrentUser, dataset: EditableDataset, session: SessionDep, storage: StorageDep
) -> Message:
    """Delete a dataset, its job and its results (owner only)."""
    session.delete(dataset)
    session.commit()
    storage.delete(f"datasets/{dataset.id}")
    return Message(detail="dataset deleted")


@router.post("/{dataset_id}/rerun", status_code=status.HTTP_202_ACCEPTED)
def rerun_dataset(user: CurrentUser, dataset: EditableDataset, session: SessionDep) -> DatasetOut:
    """Queue the annotation again (after a failure, say); results stay until the new ones replace them."""
    if queue.is_active(dataset.latest_job):
        raise HTTPException(status.HTTP_409_CONFLICT, "the dataset's job is still queued or running")
    queue.enqueue(session, dataset)
    session.commit()
    session.refresh(dataset)
    return dataset_out(dataset, user.id, read_only=False)
