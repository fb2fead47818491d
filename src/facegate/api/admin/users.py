"""Users and global roles: lists, accounts made by admins, role changes, deletion."""

from __future__ import annotations

from fastapi import APIRouter

from facegate.admin import accounts, audit, roles
from facegate.admin.roles import Role
from facegate.api.admin.deps import ActorDep, CurrentUser
from facegate.api.admin.schemas import NewUser, RoleChange, UserRoleOut
from facegate.api.deps import SessionDep

router = APIRouter(tags=["admin: users"])


@router.get("/user/roles")
def list_users(session: SessionDep, _user: CurrentUser, search: str = "") -> list[UserRoleOut]:
    """Every confirmed user with the global role; `search` matches name or e-mail."""
    return [UserRoleOut.of(u, u.global_role) for u in accounts.list_users(session, search=search)]


@router.get("/user/global/assign-roles")
def assignable_roles(user: CurrentUser) -> list[Role]:
    return roles.assignable_global_roles(Role(user.global_role))


@router.post("/user", status_code=201)
def create_user(
    body: NewUser, session: SessionDep, user: CurrentUser, actor: ActorDep
) -> UserRoleOut:
    """An account made by a global OWNER or ADMINISTRATOR, usable at once."""
    created = accounts.create_user(
        session,
        actor=user,
        email=body.email,
        password=body.password,
        first_name=body.first_name,
        last_name=body.last_name,
        role=body.role,
    )
    audit.record(session, audit.USER_CREATED, actor=actor, target=created.guid, role=body.role)
    return UserRoleOut.of(created, created.global_role)


@router.put("/user/global/role")
def set_global_role(
    body: RoleChange, session: SessionDep, user: CurrentUser, actor: ActorDep
) -> UserRoleOut:
    target = accounts.user_by_guid(session, body.user_id)
    accounts.set_global_role(session, actor=user, target=target, role=body.role)
    audit.record(session, audit.USER_ROLE, actor=actor, target=target.guid, role=body.role)
    return UserRoleOut.of(target, target.global_role)


@router.delete("/user/{user_id}", status_code=204)
def delete_user(
    user_id: str,
    session: SessionDep,
    user: CurrentUser,
    actor: ActorDep,
    replacer: str = "deleter",
) -> None:
    target = accounts.user_by_guid(session, user_id)
    email = target.email
    accounts.delete_user(session, actor=user, target=target, replacer=replacer)
    audit.record(session, audit.USER_DELETED, actor=actor, target=user_id, email=email)
