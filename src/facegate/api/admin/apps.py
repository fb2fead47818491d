"""Applications and their members."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from facegate.admin import applications, audit, roles
from facegate.admin.applications import Access
from facegate.admin.roles import Role
from facegate.api.admin.deps import ActorDep, AppAccess, CurrentUser
from facegate.api.admin.schemas import (
    AppOut,
    Invitation,
    NameOnly,
    OwnerOut,
    RoleChange,
    UserRoleOut,
)
from facegate.api.deps import SessionDep
from facegate.db.tables import User

router = APIRouter(tags=["admin: applications"])


def app_out(session: Session, standing: Access) -> AppOut:
    return _out(standing, applications.owner(session, app=standing.app))


def _out(standing: Access, owner: User | None) -> AppOut:
    return AppOut(
        id=standing.app.guid,
        name=standing.app.name,
        role=standing.app_role,
        owner=OwnerOut(user_id=owner.guid, first_name=owner.first_name, last_name=owner.last_name)
        if owner
        else None,
        can_manage=standing.can_manage,
        can_edit_services=standing.can_edit_services,
    )


@router.get("/apps")
def list_apps(session: SessionDep, user: CurrentUser, search: str = "") -> list[AppOut]:
    listed = applications.list_apps(session, user=user, search=search)
    owners = applications.owners(session, apps=[standing.app for standing in listed])
    return [_out(standing, owners.get(standing.app.id)) for standing in listed]


@router.post("/app", status_code=201)
def add_app(body: NameOnly, session: SessionDep, user: CurrentUser, actor: ActorDep) -> AppOut:
    standing = applications.create_owned_app(session, user=user, name=body.name)
    audit.record(session, audit.APP_CREATED, actor=actor, target=standing.app.guid, name=body.name)
    return app_out(session, standing)


@router.get("/app/{app_id}")
def get_app(standing: AppAccess, session: SessionDep) -> AppOut:
    return app_out(session, standing)


@router.put("/app/{app_id}")
def rename_app(body: NameOnly, standing: AppAccess, session: SessionDep) -> AppOut:
    applications.rename_app(session, standing=standing, name=body.name)
    return app_out(session, standing)


@router.delete("/app/{app_id}", status_code=204)
def delete_app(standing: AppAccess, session: SessionDep, actor: ActorDep) -> None:
    app_id, name = standing.app.guid, standing.app.name
    applications.delete_app(session, standing=standing)
    audit.record(session, audit.APP_DELETED, actor=actor, target=app_id, name=name)


@router.get("/app/{app_id}/assign-roles")
def assignable_roles(standing: AppAccess) -> list[Role]:
    return roles.assignable_app_roles(standing.global_role, standing.app_role)


@router.get("/app/{app_id}/roles")
def list_members(standing: AppAccess, session: SessionDep, search: str = "") -> list[UserRoleOut]:
    return [
        UserRoleOut.of(member, role)
        for member, role in applications.members(session, app=standing.app, search=search)
    ]


@router.post("/app/{app_id}/invite", status_code=201)
def invite(
    body: Invitation, standing: AppAccess, session: SessionDep, actor: ActorDep
) -> UserRoleOut:
    member = applications.invite(session, standing=standing, email=body.user_email, role=body.role)
    app_id = standing.app.guid
    audit.record(
        session, audit.MEMBER_ADDED, actor=actor, target=member.guid, app=app_id, role=body.role
    )
    return UserRoleOut.of(member, body.role)


@router.put("/app/{app_id}/role")
def set_member_role(
    body: RoleChange, standing: AppAccess, session: SessionDep, actor: ActorDep
) -> UserRoleOut:
    member = applications.set_member_role(
        session, standing=standing, user_guid=body.user_id, role=body.role
    )
    app_id = standing.app.guid
    audit.record(
        session, audit.MEMBER_ROLE, actor=actor, target=member.guid, app=app_id, role=body.role
    )
    return UserRoleOut.of(member, body.role)


@router.delete("/app/{app_id}/user/{user_id}", status_code=204)
def remove_member(user_id: str, standing: AppAccess, session: SessionDep, actor: ActorDep) -> None:
    applications.remove_member(session, standing=standing, user_guid=user_id)
    audit.record(session, audit.MEMBER_REMOVED, actor=actor, target=user_id, app=standing.app.guid)
