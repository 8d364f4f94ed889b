"""Request dependencies: the database session, who is asking, and what they may see or change.

Every dataset and project route gets its object through :func:`access`, the one place where the
visibility and ownership rules are applied: a dataset is visible to its owner, to everyone when it
is public (publishing a project makes its datasets public), to the members of its group when it is
shared with a group, and to holders of a review link of a project that contains it. What a viewer
may not see does not exist for them (404); what they may see but not change is 403; a published
project and its datasets are read-only (409).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from ionscape.service.config import Settings
from ionscape.service.models import (
    ApiKey,
    BrowserSession,
    Dataset,
    Membership,
    Project,
    ProjectDataset,
    User,
    utcnow,
)
from ionscape.service.security import token_hash
from ionscape.service.storage import Storage

SESSION_COOKIE = "ionscape_session"
CSRF_COOKIE = "ionscape_csrf"
CSRF_HEADER = "X-CSRF-Token"
API_KEY_HEADER = "X-API-Key"
REVIEW_HEADER = "X-Review-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

M = TypeVar("M", Dataset, Project)


def get_session(request: Request) -> Iterator[Session]:
    """A database session for one request."""
    with request.app.state.sessions() as session:
        yield session


def get_settings(request: Request) -> Settings:
    """The service settings."""
    return request.app.state.settings


def get_storage(request: Request) -> Storage:
    """The storage backend."""
    return request.app.state.storage


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StorageDep = Annotated[Storage, Depends(get_storage)]


@dataclass
class Auth:
    """Who sent the request and how: ``api_key``, ``session`` (a browser) or nobody."""

    user: User | None
    method: str | None = None
    browser_session: BrowserSession | None = None


def get_auth(request: Request, session: SessionDep, settings: SettingsDep) -> Auth:
    """Authenticate by API key (``X-API-Key`` or ``Authorization: Bearer``) or session cookie.

    A wrong API key is an error (401); a stale cookie counts as anonymous. Writes authenticated by
    cookie must carry the session's CSRF token in the ``X-CSRF-Token`` header (403 otherwise).
    """
    key = request.headers.get(API_KEY_HEADER) or _bearer(request.headers.get("Authorization", ""))
    if key:
        api_key = session.scalar(
            select(ApiKey).where(ApiKey.secret_hash == token_hash(key, settings.secret_key))
        )
        if api_key is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key")
        return Auth(api_key.user, "api_key")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return Auth(None)
    browser = session.get(BrowserSession, token_hash(cookie, settings.secret_key))
    if browser is None or browser.expires_at <= utcnow():
        return Auth(None)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), browser.csrf_token.encode()):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"CSRF check failed: send the session's CSRF token in the {CSRF_HEADER} header",
            )
    return Auth(browser.user, "session", browser)


def _bearer(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


AuthDep = Annotated[Auth, Depends(get_auth)]


def optional_user(auth: AuthDep) -> User | None:
    """The signed-in user, or None for anonymous requests."""
    return auth.user


def current_user(auth: AuthDep) -> User:
    """The signed-in user; 401 for anonymous requests."""
    if auth.user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "sign in or send an API key", headers={"WWW-Authenticate": "Bearer"}
        )
    return auth.user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]


@dataclass(frozen=True)
class Viewer:
    """What a request may see: its user's own and shared items, plus one project's via a review link."""

    user_id: str | None
    review_project_id: str | None

    def datasets(self) -> ColumnElement[bool]:
        """SQL condition: the dataset is visible to this viewer."""
        clauses: list[ColumnElement[bool]] = [Dataset.visibility == "public"]
        if self.user_id:
            my_groups = select(Membership.group_id).where(Membership.user_id == self.user_id)
            clauses.append(Dataset.owner_id == self.user_id)
            clauses.append(and_(Dataset.visibility == "group", Dataset.group_id.in_(my_groups)))
        if self.review_project_id:
            reviewed = select(ProjectDataset.dataset_id).where(
                ProjectDataset.project_id == self.review_project_id
            )
            clauses.append(Dataset.id.in_(reviewed))
        return or_(*clauses)

    def projects(self) -> ColumnElement[bool]:
        """SQL condition: the project is visible to this viewer."""
        clauses: list[ColumnElement[bool]] = [Project.visibility == "public"]
        if self.user_id:
            clauses.append(Project.owner_id == self.user_id)
        if self.review_project_id:
            clauses.append(Project.id == self.review_project_id)
        return or_(*clauses)

    def visible(self, model: type[M]) -> ColumnElement[bool]:
        """SQL condition for ``Dataset`` or ``Project``."""
        return self.datasets() if model is Dataset else self.projects()


def get_viewer(request: Request, session: SessionDep, settings: SettingsDep, user: OptionalUser) -> Viewer:
    """The viewer of this request (a review token comes as ``?review_token=`` or ``X-Review-Token``)."""
    token = request.query_params.get("review_token") or request.headers.get(REVIEW_HEADER)
    project_id = None
    if token:
        project_id = session.scalar(
            select(Project.id).where(Project.review_token_hash == token_hash(token, settings.secret_key))
        )
    return Viewer(user.id if user else None, project_id)


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def published_dataset(dataset_id: Any) -> ColumnElement[bool]:
    """SQL condition: the dataset belongs to a published project."""
    return exists().where(
        ProjectDataset.dataset_id == dataset_id,
        ProjectDataset.project_id == Project.id,
        Project.published_at.is_not(None),
    )


def is_read_only(session: Session, item: Dataset | Project) -> bool:
    """True for a published project and the datasets in one."""
    if isinstance(item, Project):
        return item.published_at is not None
    return bool(session.scalar(select(published_dataset(item.id))))


def access(model: type[M], *, edit: bool = False) -> Callable[..., M]:
    """Dependency giving the ``model`` object named by the path's id, if the viewer may see (or edit) it."""
    kind = model.__name__.lower()

    def load(item_id: str, session: Session, viewer: Viewer) -> M:
        item = session.scalar(select(model).where(model.id == item_id, viewer.visible(model)))
        if item is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{kind} {item_id} not found")
        if edit:
            if item.owner_id != viewer.user_id:
                raise HTTPException(status.HTTP_403_FORBIDDEN, f"only the owner can change this {kind}")
            if is_read_only(session, item):
                raise HTTPException(status.HTTP_409_CONFLICT, f"this {kind} is published and read-only")
        return item

    if model is Dataset:

        def dataset(dataset_id: str, session: SessionDep, viewer: ViewerDep) -> M:
            return load(dataset_id, session, viewer)

        return dataset

    def project(project_id: str, session: SessionDep, viewer: ViewerDep) -> M:
        return load(project_id, session, viewer)

    return project


VisibleDataset = Annotated[Dataset, Depends(access(Dataset))]
EditableDataset = Annotated[Dataset, Depends(access(Dataset, edit=True))]
VisibleProject = Annotated[Project, Depends(access(Project))]
EditableProject = Annotated[Project, Depends(access(Project, edit=True))]
