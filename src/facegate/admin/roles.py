"""Who may do what: CompreFace's global and application role rules (decisions.md C5.3), pure."""

from __future__ import annotations

from enum import StrEnum

from facegate.errors import (
    AdministratorRequired,
    IllegalReplacer,
    InsufficientPrivileges,
    SelfRoleChange,
)


class Role(StrEnum):
    """Both the global role of a user and the role of a member in an application."""

    OWNER = "OWNER"
    ADMINISTRATOR = "ADMINISTRATOR"
    USER = "USER"


ALL_ROLES = [Role.OWNER, Role.ADMINISTRATOR, Role.USER]


def _global_admin(role: Role) -> bool:
    return role in (Role.OWNER, Role.ADMINISTRATOR)


# --- applications -------------------------------------------------------------------------------


def can_create_app(global_role: Role) -> bool:
    return _global_admin(global_role)


def can_read_app(global_role: Role, app_role: Role | None) -> bool:
    """Read an app, its services, members and statistics: global admins, or any member."""
    return _global_admin(global_role) or app_role is not None


def can_manage_app(global_role: Role, app_role: Role | None) -> bool:
    """Rename, delete, invite, change member roles: global admins or the app OWNER."""
    return _global_admin(global_role) or app_role == Role.OWNER


def can_edit_services(global_role: Role, app_role: Role | None) -> bool:
    """Create, rename, clone, delete services, regenerate keys: also the app ADMINISTRATOR."""
    return _global_admin(global_role) or app_role in (Role.OWNER, Role.ADMINISTRATOR)


def assignable_app_roles(global_role: Role, app_role: Role | None) -> list[Role]:
    return list(ALL_ROLES) if can_manage_app(global_role, app_role) else []


def check_member_role_change(global_role: Role, app_role: Role | None, target: Role) -> None:
    """Change a member's app role; the app OWNER's own role only moves by naming a new owner."""
    if not can_manage_app(global_role, app_role) or target == Role.OWNER:
        raise InsufficientPrivileges


def check_member_removal(
    global_role: Role, app_role: Role | None, *, is_self: bool, target: Role
) -> None:
    """Global admins remove anyone but the owner; the owner others; the rest only themselves."""
    if target == Role.OWNER:
        raise InsufficientPrivileges
    if _global_admin(global_role) or app_role == Role.OWNER or is_self:
        return
    raise InsufficientPrivileges


# --- global roles and users ---------------------------------------------------------------------


def check_server_administration(global_role: Role) -> None:
    """Work on the whole server (re-embedding every collection): global admins only."""
    if not _global_admin(global_role):
        raise AdministratorRequired


def assignable_global_roles(global_role: Role) -> list[Role]:
    if global_role == Role.OWNER:
        return list(ALL_ROLES)
    if global_role == Role.ADMINISTRATOR:
        return [Role.ADMINISTRATOR, Role.USER]
    return []


def check_global_role_change(actor: Role, *, is_self: bool, target: Role, new: Role) -> None:
    """Only global admins; never one's own role (14); the OWNER's role and OWNER grants by
    an ADMINISTRATOR are refused (9). Granting OWNER demotes the caller (the caller's job)."""
    if not _global_admin(actor):
        raise InsufficientPrivileges
    if is_self:
        raise SelfRoleChange
    if target == Role.OWNER or new not in assignable_global_roles(actor):
        raise InsufficientPrivileges


def check_global_user_creation(actor: Role, role: Role) -> None:
    """Accounts created by an admin (sign-up closed): never a second OWNER."""
    if not _global_admin(actor) or role == Role.OWNER:
        raise InsufficientPrivileges


def check_user_deletion(actor: Role, *, is_self: bool, target: Role) -> None:
    if target == Role.OWNER:
        raise InsufficientPrivileges("Global owner cannot be removed!")
    if not (is_self or _global_admin(actor)):
        raise InsufficientPrivileges


class Heir(StrEnum):
    """Who receives the applications owned by a deleted user."""

    DELETER = "deleter"
    OWNER = "owner"


def heir_of_deleted_user(*, is_self: bool, replacer: str) -> Heir:
    """The global OWNER on self-removal, else the deleter or the OWNER as `replacer` asks."""
    try:
        choice = Heir(replacer)
    except ValueError:
        raise IllegalReplacer(replacer) from None
    return Heir.OWNER if is_self else choice
