"""Projects: collections of datasets, shared by a secret review link, then published (public, read-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ionscape.service.api.deps import (
    CurrentUser,
    EditableDataset,
    EditableProject,
    SessionDep,
    SettingsDep,
    ViewerDep,
    VisibleProject,
)
from ionscape.service.api.routes import PageOffset
from ionscape.service.models import Dataset, Project, ProjectDataset, utcnow
from ionscape.service.schemas import (
    Message,
    Page,
    ProjectCreate,
    ProjectOut,
    ProjectUpdate,
    PublishRequest,
    ReviewLink,
    UserRef,
)
from ionscape.service.security import new_token, token_hash

router = APIRouter(prefix="/projects", tags=["projects"])


def project_out(session: Session, project: Project, viewer_id: str | None) -> ProjectOut:
    """The API view of a project."""
    n_datasets = session.scalar(
        select(func.count()).select_from(ProjectDataset).where(ProjectDataset.project_id == project.id)
    )
    return ProjectOut(
        id=project.id,
        name=project.name,
        description=project.description,
        owner=UserRef.model_validate(project.owner),
        visibility=project.visibility,
        published_at=project.published_at,
        doi=project.doi,
        paper_url=project.paper_url,
        created_at=project.created_at,
        has_review_link=project.review_token_hash is not None,
        n_datasets=n_datasets or 0,
        can_edit=project.owner_id == viewer_id and project.published_at is None,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_project(body: ProjectCreate, user: CurrentUser, session: SessionDep) -> ProjectOut:
    """Create a project."""
    project = Project(owner_id=user.id, **body.model_dump())
    session.add(project)
    session.commit()
    return project_out(session, project, user.id)


@router.get("")
def list_projects(
    session: SessionDep,
    viewer: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: PageOffset = 0,
) -> Page[ProjectOut]:
    """Projects visible to the caller, newest first."""
    condition = viewer.projects()
    total = session.scalar(select(func.count()).select_from(Project).where(condition)) or 0
    projects = session.scalars(
        select(Project)
        .where(condition)
        .order_by(Project.created_at.desc(), Project.id)
        .limit(limit)
        .offset(offset)
    )
    items = [project_out(session, p, viewer.user_id) for p in projects]
    return Page[ProjectOut](items=items, total=total, limit=limit, offset=offset)


@router.get("/{project_id}")
def get_project(project: VisibleProject, session: SessionDep, viewer: ViewerDep) -> ProjectOut:
    """One project (list its datasets with ``GET /datasets?project_id=``)."""
    return project_out(session, project, viewer.user_id)


@router.patch("/{project_id}")
def update_project(
    body: ProjectUpdate, user: CurrentUser, project: EditableProject, session: SessionDep
) -> ProjectOut:
    """Change name, description or visibility (owner only, before publication)."""
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(project, name, value)
    session.commit()
    return project_out(session, project, user.id)


@router.delete("/{project_id}")
def delete_project(user: CurrentUser, project: EditableProject, session: SessionDep) -> Message:
    """Delete a project (its datasets stay)."""
    session.delete(project)
    session.commit()
    return Message(detail="project deleted")


@router.put("/{project_id}/datasets/{dataset_id}")
def add_dataset(
    user: CurrentUser, project: EditableProject, dataset: EditableDataset, session: SessionDep
) -> ProjectOut:
    """Add one of your datasets to your project."""
    if session.get(ProjectDataset, (project.id, dataset.id)) is None:
        session.add(ProjectDataset(project_id=project.id, dataset_id=dataset.id))
        session.commit()
    return project_out(session, project, user.id)


@router.delete("/{project_id}/datasets/{dataset_id}")
def remove_dataset(
    dataset_id: str, user: CurrentUser, project: EditableProject, session: SessionDep
) -> ProjectOut:
    """Take a dataset out of the project."""
    link = session.get(ProjectDataset, (project.id, dataset_id))
    if link is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"dataset {dataset_id} is not in this project")
    session.delete(link)
    session.commit()
    return project_out(session, project, user.id)


@router.post("/{project_id}/review-link", status_code=status.HTTP_201_CREATED)
def create_review_link(
    user: CurrentUser, project: EditableProject, session: SessionDep, settings: SettingsDep
) -> ReviewLink:
    """A new secret review link (replaces the previous one): it shows this project and its datasets."""
    token = new_token()
    project.review_token_hash = token_hash(token, settings.secret_key)
    session.commit()
    return ReviewLink(token=token, project_id=project.id)


@router.delete("/{project_id}/review-link")
def revoke_review_link(user: CurrentUser, project: EditableProject, session: SessionDep) -> Message:
    """Revoke the review link."""
    project.review_token_hash = None
    session.commit()
    return Message(detail="review link revoked")


@router.post("/{project_id}/publish")
def publish_project(
    body: PublishRequest, user: CurrentUser, project: EditableProject, session: SessionDep
) -> ProjectOut:
    """Publish: the project and its datasets become public and read-only; the review link ends."""
    in_project = select(ProjectDataset.dataset_id).where(ProjectDataset.project_id == project.id)
    session.execute(update(Dataset).where(Dataset.id.in_(in_project)).values(visibility="public"))
    project.visibility = "public"
    project.published_at = utcnow()
    project.review_token_hash = None
    project.doi, project.paper_url = body.doi, body.paper_url
    session.commit()
    return project_out(session, project, user.id)
