"""Applications and their members."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from facegate.admin import applications, audit, roles
from facegate.admin.applications import Access
from facegate.admin.roles import Role
from facegate.api.admin.deps import ActorDep, CurrentUser
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
def get_app(app_id: str, session: SessionDep, user: CurrentUser) -> AppOut:
    return app_out(session, applications.access(session, user=user, app_guid=app_id))


@router.put("/app/{app_id}")
def rename_app(app_id: str, body: NameOnly, session: SessionDep, user: CurrentUser) -> AppOut:
    standing = applications.access(session, user=user, app_guid=app_id)
    applications.rename_app(session, standing=standing, name=body.name)
    return app_out(session, standing)


@router.delete("/app/{app_id}", status_code=204)
def delete_app(app_id: str, session: SessionDep, user: CurrentUser, actor: ActorDep) -> None:
    standing = applications.access(session, user=user, app_guid=app_id)
    name = standing.app.name
    applications.delete_app(session, standing=standing)
    audit.record(session, audit.APP_DELETED, actor=actor, target=app_id, name=name)


@router.get("/app/{app_id}/assign-roles")
def assignable_roles(app_id: str, session: SessionDep, user: CurrentUser) -> list[Role]:
    standing = applications.access(session, user=user, app_guid=app_id)
    return roles.assignable_app_roles(standing.global_role, standing.app_role)


@router.get("/app/{app_id}/roles")
def list_members(
    app_id: str, session: SessionDep, user: CurrentUser, search: str = ""
) -> list[UserRoleOut]:
    standing = applications.access(session, user=user, app_guid=app_id)
    return [
        UserRoleOut.of(member, role)
        for member, role in applications.members(session, app=standing.app, search=search)
    ]


@router.post("/app/{app_id}/invite", status_code=201)
def invite(
    app_id: str, body: Invitation, session: SessionDep, user: CurrentUser, actor: ActorDep
) -> UserRoleOut:
    standing = applications.access(session, user=user, app_guid=app_id)
    member = applications.invite(session, standing=standing, email=body.user_email, role=body.role)
    audit.record(
        session, audit.MEMBER_ADDED, actor=actor, target=member.guid, app=app_id, role=body.role
    )
    return UserRoleOut.of(member, body.role)


@router.put("/app/{app_id}/role")
def set_member_role(
    app_id: str, body: RoleChange, session: SessionDep, user: CurrentUser, actor: ActorDep
) -> UserRoleOut:
    standing = applications.access(session, user=user, app_guid=app_id)
    member = applications.set_member_role(
        session, standing=standing, user_guid=body.user_id, role=body.role
    )
    audit.record(
        session, audit.MEMBER_ROLE, actor=actor, target=member.guid, app=app_id, role=body.role
    )
    return UserRoleOut.of(member, body.role)


@router.delete("/app/{app_id}/user/{user_id}", status_code=204)
def remove_member(
    app_id: str, user_id: str, session: SessionDep, user: CurrentUser, actor: ActorDep
) -> None:
    standing = applications.access(session, user=user, app_guid=app_id)
    applications.remove_member(session, standing=standing, user_guid=user_id)
    audit.record(session, audit.MEMBER_REMOVED, actor=actor, target=user_id, app=app_id)
