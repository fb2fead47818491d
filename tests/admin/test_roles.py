"""The role rules of decisions.md C5.3 as pure functions: every role combination."""

from __future__ import annotations

import itertools

import pytest

from facegate.admin import roles
from facegate.admin.roles import Heir, Role
from facegate.errors import IllegalReplacer, InsufficientPrivileges, SelfRoleChange

O, A, U = Role.OWNER, Role.ADMINISTRATOR, Role.USER  # noqa: E741 (the roles' initials)
APP_ROLES = [O, A, U, None]
# A list, not the iterator: pytest 9.2 refuses iterators as parameter sets.
PAIRS = list(itertools.product([O, A, U], APP_ROLES))


@pytest.mark.parametrize(("global_role", "app_role"), PAIRS)
def test_app_privileges(global_role: Role, app_role: Role | None) -> None:
    global_admin = global_role in (O, A)
    assert roles.can_read_app(global_role, app_role) == (global_admin or app_role is not None)
    assert roles.can_manage_app(global_role, app_role) == (global_admin or app_role == O)
    assert roles.can_edit_services(global_role, app_role) == (global_admin or app_role in (O, A))
    assert roles.can_create_app(global_role) == global_admin
    expected = [O, A, U] if global_admin or app_role == O else []
    assert roles.assignable_app_roles(global_role, app_role) == expected


def test_an_app_administrator_cannot_manage_the_app_but_edits_services() -> None:
    assert not roles.can_manage_app(U, A)
    assert roles.can_edit_services(U, A)
    assert not roles.can_edit_services(U, U)
    assert not roles.can_read_app(U, None)


@pytest.mark.parametrize(("global_role", "app_role"), PAIRS)
@pytest.mark.parametrize("target", [A, U])
def test_member_role_change(global_role: Role, app_role: Role | None, target: Role) -> None:
    if global_role in (O, A) or app_role == O:
        roles.check_member_role_change(global_role, app_role, target)
    else:
        with pytest.raises(InsufficientPrivileges):
            roles.check_member_role_change(global_role, app_role, target)


@pytest.mark.parametrize(("global_role", "app_role"), PAIRS)
def test_nobody_changes_the_app_owner_role(global_role: Role, app_role: Role | None) -> None:
    with pytest.raises(InsufficientPrivileges):
        roles.check_member_role_change(global_role, app_role, O)


@pytest.mark.parametrize(
    ("global_role", "app_role", "is_self", "target", "allowed"),
    [
        (O, None, False, A, True),  # global admins remove anyone...
        (A, None, False, U, True),
        (O, O, True, O, False),  # ...but the app owner, even themselves
        (A, None, False, O, False),
        (U, O, False, A, True),  # the app owner removes others
        (U, O, True, O, False),  # but not himself
        (U, A, False, U, False),  # app ADMINISTRATOR and USER: only themselves
        (U, A, True, A, True),
        (U, U, False, A, False),
        (U, U, True, U, True),
    ],
)
def test_member_removal(
    global_role: Role, app_role: Role | None, is_self: bool, target: Role, allowed: bool
) -> None:
    def remove() -> None:
        roles.check_member_removal(global_role, app_role, is_self=is_self, target=target)

    if allowed:
        remove()
    else:
        with pytest.raises(InsufficientPrivileges):
            remove()


def test_assignable_global_roles() -> None:
    assert roles.assignable_global_roles(O) == [O, A, U]
    assert roles.assignable_global_roles(A) == [A, U]
    assert roles.assignable_global_roles(U) == []


@pytest.mark.parametrize(
    ("actor", "is_self", "target", "new", "error"),
    [
        (O, False, U, A, None),
        (O, False, A, O, None),  # the owner hands ownership over
        (A, False, U, A, None),
        (A, False, A, U, None),
        (A, False, U, O, InsufficientPrivileges),  # an ADMINISTRATOR cannot grant OWNER
        (A, False, O, U, InsufficientPrivileges),  # nobody changes the OWNER's role
        (O, True, O, U, SelfRoleChange),  # nor his own
        (A, True, A, U, SelfRoleChange),
        (U, False, U, A, InsufficientPrivileges),  # a USER changes nothing
        (U, True, U, A, InsufficientPrivileges),
    ],
)
def test_global_role_change(
    actor: Role, is_self: bool, target: Role, new: Role, error: type[Exception] | None
) -> None:
    def change() -> None:
        roles.check_global_role_change(actor, is_self=is_self, target=target, new=new)

    if error is None:
        change()
    else:
        with pytest.raises(error):
            change()


@pytest.mark.parametrize(
    ("actor", "is_self", "target", "allowed"),
    [
        (O, False, A, True),
        (O, False, U, True),
        (A, False, A, True),
        (A, False, U, True),
        (U, True, U, True),  # a USER may delete himself...
        (A, True, A, True),
        (U, False, U, False),  # ...and nobody else
        (A, False, O, False),  # the OWNER cannot be deleted
        (O, True, O, False),
    ],
)
def test_user_deletion(actor: Role, is_self: bool, target: Role, allowed: bool) -> None:
    def delete() -> None:
        roles.check_user_deletion(actor, is_self=is_self, target=target)

    if allowed:
        delete()
    else:
        with pytest.raises(InsufficientPrivileges):
            delete()


def test_the_global_owner_cannot_be_removed_message() -> None:
    with pytest.raises(InsufficientPrivileges, match="Global owner cannot be removed!"):
        roles.check_user_deletion(A, is_self=False, target=O)


def test_heir_of_deleted_user() -> None:
    assert roles.heir_of_deleted_user(is_self=False, replacer="deleter") == Heir.DELETER
    assert roles.heir_of_deleted_user(is_self=False, replacer="owner") == Heir.OWNER
    assert roles.heir_of_deleted_user(is_self=True, replacer="deleter") == Heir.OWNER
    with pytest.raises(IllegalReplacer, match="Illegal replacer value=nobody!"):
        roles.heir_of_deleted_user(is_self=False, replacer="nobody")


def test_admins_create_accounts_but_never_a_second_owner() -> None:
    roles.check_global_user_creation(O, A)
    roles.check_global_user_creation(A, U)
    for actor, role in [(A, O), (O, O), (U, U)]:
        with pytest.raises(InsufficientPrivileges):
            roles.check_global_user_creation(actor, role)
