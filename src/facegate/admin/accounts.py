"""User accounts: sign-up, passwords (argon2), e-mailed tokens, global roles, deletion."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, Select, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from facegate import names
from facegate.admin import logins, roles
from facegate.admin.roles import Role
from facegate.db.session import bulk_write, flush_unique, serialise
from facegate.db.tables import AccountToken, AppMember, User, could_be_id, utcnow
from facegate.errors import (
    AccountDisabled,
    BadCredentials,
    EmailAlreadyRegistered,
    EmptyField,
    IncorrectPassword,
    InvalidEmail,
    InvalidParameter,
    InvalidResetToken,
    RegistrationTokenExpired,
    SignupClosed,
    UserNotFound,
)

# CompreFace's EmailValidator pattern (decisions.md C5.4).
EMAIL = re.compile(
    r"^[_A-Za-z0-9-+]+(\.[_A-Za-z0-9-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9]+)*(\.[A-Za-z]{2,})$"
)
CONFIRM = "confirm"
RESET = "reset"
CONFIRM_TTL = timedelta(hours=24)
RESET_TTL = timedelta(minutes=15)
# The guard row (facegate.db.session.serialise) of every check-then-write on global roles and on
# closed sign-up.
ACCOUNTS_GUARD = "accounts"

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


# --- validation ---------------------------------------------------------------------------------


def clean_email(email: str) -> str:
    email = email.strip()
    if not email:
        raise EmptyField("email")
    if len(email) > 254 or not EMAIL.match(email):
        raise InvalidEmail
    return email.lower()


def clean_name(value: str, field: str) -> str:
    """A user's first or last name (people's names may hold any character)."""
    return names.check(value, what=f"User's {field}", empty=EmptyField(field), separators=False)


def check_password(password: str) -> None:
    if not 8 <= len(password) <= 255:
        raise InvalidParameter("The password size must be between 8 and 255 characters")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- lookups ------------------------------------------------------------------------------------


def user_by_guid(s: Session, guid: str) -> User:
    user = s.scalar(select(User).where(User.guid == guid)) if could_be_id(guid) else None
    if user is None:
        raise UserNotFound(guid)
    return user


def user_by_email(s: Session, email: str) -> User | None:
    return s.scalar(select(User).where(User.email == email.strip().lower()))


def global_owner(s: Session) -> User | None:
    return s.scalar(select(User).where(User.global_role == Role.OWNER, User.enabled))


def user_matches(search: str) -> ColumnElement[bool]:
    """Users whose first name, last name or e-mail contains `search`, ignoring case."""
    pattern = f"%{search.strip().lower()}%"
    return or_(
        func.lower(User.first_name).like(pattern),
        func.lower(User.last_name).like(pattern),
        User.email.like(pattern),  # stored lower-cased
    )


def list_users(s: Session, *, search: str = "") -> list[User]:
    query = select(User).where(User.enabled).order_by(User.first_name, User.last_name, User.email)
    if search.strip():
        query = query.where(user_matches(search))
    return list(s.scalars(query))


def signup_open(s: Session, *, allow_signup: bool) -> bool:
    """`allow_signup=false` closes open sign-up once an account exists: a confirmed one, or one
    whose confirmation link is still valid (an abandoned sign-up must not lock the server)."""
    if allow_signup:
        return True
    return s.scalar(_address_holders().limit(1)) is None


def _address_holders() -> Select[int]:
    """Users who hold their address: confirmed, or with a confirmation link still valid."""
    pending = select(AccountToken.user_id).where(
        AccountToken.user_id == User.id,
        AccountToken.purpose == CONFIRM,
        AccountToken.used_at.is_(None),
        AccountToken.expires_at > utcnow(),
    )
    return select(User.id).where(or_(User.enabled, pending.exists()))


# --- creating accounts --------------------------------------------------------------------------


def register(
    s: Session,
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    allow_signup: bool,
    confirm_by_email: bool,
) -> User:
    """Open sign-up. Without e-mail the first account is the global OWNER; with e-mail the
    account waits for confirmation and the OWNER is the first one confirmed.

    Closed sign-up admits one account, so "is it still open?" and the new account are one
    step: the accounts guard is taken first, and a second sign-up sent at the same moment
    reads the first one's account once it has committed (403 code 9)."""
    if not allow_signup:
        serialise(s, ACCOUNTS_GUARD)
    if not signup_open(s, allow_signup=allow_signup):
        raise SignupClosed
    user = _new_user(s, email=email, password=password, first_name=first_name, last_name=last_name)
    if confirm_by_email:
        user.enabled = False
    else:
        _claim_ownership(s, user)
    return user


def create_user(
    s: Session,
    *,
    actor: User,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    role: Role,
) -> User:
    """An account made by a global admin (the way in once sign-up is closed); enabled at once."""
    roles.check_global_user_creation(Role(actor.global_role), role)
    user = _new_user(s, email=email, password=password, first_name=first_name, last_name=last_name)
    user.global_role = role
    return user


def _new_user(s: Session, *, email: str, password: str, first_name: str, last_name: str) -> User:
    email = clean_email(email)
    first_name = clean_name(first_name, "first name")
    last_name = clean_name(last_name, "last name")
    if not password:
        raise EmptyField("password")
    check_password(password)
    existing = user_by_email(s, email)
    if existing is not None:
        if s.scalar(_address_holders().where(User.id == existing.id)) is not None:
            raise EmailAlreadyRegistered
        s.delete(existing)  # never confirmed and its link expired: the address is free again
        s.flush()
    user = User(
        email=email,
        first_name=first_name,
        last_name=last_name,
        password_hash=_hasher.hash(password),
        global_role=Role.USER,
        enabled=True,
    )
    s.add(user)
    # The same address signed up at the same moment: the unique index answers as the check.
    flush_unique(s, EmailAlreadyRegistered())
    return user


# --- logging in and own account -----------------------------------------------------------------


def authenticate(s: Session, *, email: str, password: str) -> User:
    user = user_by_email(s, email)
    if user is None:
        _verify(_DUMMY_HASH, password)
        raise BadCredentials
    if not _verify(user.password_hash, password):
        raise BadCredentials
    if not user.enabled:
        raise AccountDisabled
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def update_name(user: User, *, first_name: str, last_name: str) -> None:
    user.first_name = clean_name(first_name, "first name")
    user.last_name = clean_name(last_name, "last name")


def change_password(user: User, *, old: str, new: str) -> None:
    if not _verify(user.password_hash, old):
        raise IncorrectPassword
    check_password(new)
    user.password_hash = _hasher.hash(new)


# --- e-mailed single-use tokens -----------------------------------------------------------------


def issue_token(s: Session, *, user: User, purpose: str) -> str:
    """A new token for the link; it replaces any earlier one of the same purpose."""
    s.execute(
        delete(AccountToken).where(AccountToken.user_id == user.id, AccountToken.purpose == purpose)
    )
    token = secrets.token_urlsafe(32)
    ttl = CONFIRM_TTL if purpose == CONFIRM else RESET_TTL
    s.add(
        AccountToken(
            token_hash=logins.token_hash(token),
            user_id=user.id,
            purpose=purpose,
            expires_at=utcnow() + ttl,
        )
    )
    s.flush()
    return token


def _redeem(s: Session, *, token: str, purpose: str) -> User | None:
    """The token's user, once: one conditional UPDATE marks it used, so of two requests with
    the same link (on SQLite too, where `FOR UPDATE` locks nothing) one wins."""
    hashed, now = logins.token_hash(token), utcnow()
    won = bulk_write(
        s,
        update(AccountToken)
        .where(
            AccountToken.token_hash == hashed,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now),
    )
    if won != 1:
        return None
    user_id = s.scalar(select(AccountToken.user_id).where(AccountToken.token_hash == hashed))
    return s.get(User, user_id)


def confirm_email(s: Session, *, token: str) -> User:
    user = _redeem(s, token=token, purpose=CONFIRM)
    if user is None:
        raise RegistrationTokenExpired
    user.enabled = True
    _claim_ownership(s, user)
    return user


def _claim_ownership(s: Session, user: User) -> None:
    """Make `user` the global OWNER if there is none yet (the first account).

    Two first sign-ups at once can both see no owner. The unique index `uq_users_one_owner`
    lets one promotion through; the other fails inside its savepoint and that user stays a
    USER, as any later account (on SQLite the write lock already serialises them)."""
    if global_owner(s) is not None:
        return
    try:
        with s.begin_nested():
            user.global_role = Role.OWNER
    except IntegrityError:
        user.global_role = Role.USER  # the savepoint's rollback expired it; say it plainly


def reset_password(s: Session, *, token: str, password: str) -> User:
    if not password.strip():
        raise EmptyField("password")
    check_password(password)
    user = _redeem(s, token=token, purpose=RESET)
    if user is None:
        raise InvalidResetToken
    user.password_hash = _hasher.hash(password)
    logins.revoke_all(s, user=user)
    return user


# --- global roles and deletion ------------------------------------------------------------------


def _settle(s: Session, *users: User) -> None:
    """Take the accounts guard and read `users` again: a role change or deletion is checked
    against roles as they are now, not as another request left them a moment ago (which could
    demote or delete the OWNER that request had just made, leaving none)."""
    serialise(s, ACCOUNTS_GUARD)
    for user in users:
        s.refresh(user)


def set_global_role(s: Session, *, actor: User, target: User, role: Role) -> None:
    _settle(s, actor, target)
    roles.check_global_role_change(
        Role(actor.global_role),
        is_self=actor.id == target.id,
        target=Role(target.global_role),
        new=role,
    )
    if role == Role.OWNER:
        # There is one OWNER: granting it hands it over. The demotion is written first, so the
        # one-owner index holds after every statement (the flush would order rows by id).
        actor.global_role = Role.ADMINISTRATOR
        s.flush()
    target.global_role = role


def delete_user(s: Session, *, actor: User, target: User, replacer: str) -> None:
    """Remove an account; the applications it owned pass to its heir (decisions.md C5.3)."""
    is_self = actor.id == target.id
    heir_kind = roles.heir_of_deleted_user(is_self=is_self, replacer=replacer)
    _settle(s, actor, target)
    roles.check_user_deletion(
        Role(actor.global_role), is_self=is_self, target=Role(target.global_role)
    )
    heir = actor if heir_kind == roles.Heir.DELETER else global_owner(s)
    for membership in list(target.memberships):
        if membership.role == Role.OWNER and heir is not None:
            _make_owner(s, app_id=membership.app_id, user=heir)
    s.delete(target)
    s.flush()


def _make_owner(s: Session, *, app_id: int, user: User) -> None:
    member = s.get(AppMember, (app_id, user.id))
    if member is None:
        s.add(AppMember(app_id=app_id, user_id=user.id, role=Role.OWNER))
    else:
        member.role = Role.OWNER
