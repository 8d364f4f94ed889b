"""Groups (labs, teams): members with roles; datasets shared with a group are visible to its members."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ionscape.service.api.deps import CurrentUser, SessionDep
from ionscape.service.models import Group, Membership, User
from ionscape.service.schemas import GroupCreate, GroupOut, MemberAdd, Message

router = APIRouter(prefix="/groups", tags=["groups"])


def _membership(session: SessionDep, group_id: str, user: User) -> Membership:
    """The user's membership of the group; 404 for non-members (groups are not public)."""
    membership = session.get(Membership, (group_id, user.id))
    if membership is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"group {group_id} not found")
    return membership


def _require_admin(membership: Membership) -> None:
    if membership.role != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only group admins can manage members")


@router.post("", status_code=status.HTTP_201_CREATED)
def create_group(body: GroupCreate, user: CurrentUser, session: SessionDep) -> GroupOut:
    """Create a group; its creator becomes its admin."""
    group = Group(name=body.name)
    group.memberships.append(Membership(user_id=user.id, role="admin"))
    session.add(group)
    try:
        session.commit()
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"a group named {body.name!r} exists") from None
    session.refresh(group)
    return GroupOut.model_validate(group)


@router.get("")
def list_groups(user: CurrentUser, session: SessionDep) -> list[GroupOut]:
    """The groups the user belongs to."""
    groups = session.scalars(
        select(Group).join(Membership).where(Membership.user_id == user.id).order_by(Group.name)
    )
    return [GroupOut.model_validate(g) for g in groups]


@router.get("/{group_id}")
def get_group(group_id: str, user: CurrentUser, session: SessionDep) -> GroupOut:
    """A group and its members (members only)."""
    return GroupOut.model_validate(_membership(session, group_id, user).group)


@router.post("/{group_id}/members", status_code=status.HTTP_201_CREATED)
def add_member(group_id: str, body: MemberAdd, user: CurrentUser, session: SessionDep) -> GroupOut:
    """Add a user by e-mail, or change their role (admins only)."""
    membership = _membership(session, group_id, user)
    _require_admin(membership)
    member = session.scalar(select(User).where(User.email == body.email))
    if member is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user with e-mail {body.email}")
    existing = session.get(Membership, (group_id, member.id))
    if existing is None:
        session.add(Membership(group_id=group_id, user_id=member.id, role=body.role))
    else:
        existing.role = body.role
    session.commit()
    session.refresh(membership.group)
    return GroupOut.model_validate(membership.group)


@router.delete("/{group_id}/members/{user_id}")
def remove_member(group_id: str, user_id: str, user: CurrentUser, session: SessionDep) -> Message:
    """Remove a member (admins), or leave the group (anyone)."""
    membership = _membership(session, group_id, user)
    if user_id != user.id:
        _require_admin(membership)
    target = session.get(Membership, (group_id, user_id))
    if target is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"user {user_id} is not a member")
    session.delete(target)
    session.commit()
    return Message(detail="member removed")
