"""Applications as the admin API sees them: access of a user, members, and their face services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from facegate import face_services
from facegate.admin import accounts, roles
from facegate.admin.roles import Role
from facegate.collection import statistics as request_statistics
from facegate.config import ResponseFormat
from facegate.db.session import flush_unique, serialise
from facegate.db.tables import Application, AppMember, Service, User, Webhook, could_be_id, utcnow
from facegate.errors import (
    AlreadyMember,
    AppNotFound,
    InsufficientPrivileges,
    ServiceNotInApp,
    UserNotFound,
)
from facegate.events import hooks, outbox

STATISTICS_MONTHS = 6


@dataclass(frozen=True)
class Access:
    """A user's standing in one application; the checks below raise code 9 when it falls short."""

    app: Application
    user: User
    app_role: Role | None

    @property
    def global_role(self) -> Role:
        return Role(self.user.global_role)

    @property
    def can_manage(self) -> bool:
        return roles.can_manage_app(self.global_role, self.app_role)

    @property
    def can_edit_services(self) -> bool:
        return roles.can_edit_services(self.global_role, self.app_role)

    def require_manage(self) -> None:
        if not self.can_manage:
            raise InsufficientPrivileges

    def require_edit_services(self) -> None:
        if not self.can_edit_services:
            raise InsufficientPrivileges


def app_role(s: Session, *, app: Application, user: User) -> Role | None:
    member = s.get(AppMember, (app.id, user.id))
    return Role(member.role) if member else None


def _settled(s: Session, standing: Access) -> Access:
    """Take the application's guard and read the caller's standing again: a change of members
    or of the owner is checked against the roles as they are now, so two at once cannot leave
    an application with two owners or none (facegate.db.session.serialise)."""
    serialise(s, f"app:{standing.app.id}")
    s.refresh(standing.user)
    member = s.get(AppMember, (standing.app.id, standing.user.id), populate_existing=True)
    return Access(standing.app, standing.user, Role(member.role) if member else None)


def access(s: Session, *, user: User, app_guid: str) -> Access:
    """The one "get app or 404, then may this user read it" check (codes 2 and 9)."""
    app = None
    if could_be_id(app_guid):
        app = s.scalar(select(Application).where(Application.guid == app_guid))
    if app is None:
        raise AppNotFound(app_guid)
    standing = Access(app, user, app_role(s, app=app, user=user))
    if not roles.can_read_app(standing.global_role, standing.app_role):
        raise InsufficientPrivileges
    return standing


def list_apps(s: Session, *, user: User, search: str = "") -> list[Access]:
    """All applications for global admins, the member ones for a USER; sorted by name."""
    query = select(Application, AppMember.role).outerjoin(
        AppMember, (AppMember.app_id == Application.id) & (AppMember.user_id == user.id)
    )
    if not roles.can_create_app(Role(user.global_role)):
        query = query.where(AppMember.user_id == user.id)
    if search.strip():
        query = query.where(func.lower(Application.name).like(f"%{search.strip().lower()}%"))
    rows = s.execute(query.order_by(Application.name))
    return [Access(app, user, Role(role) if role else None) for app, role in rows]


def owners(s: Session, *, apps: list[Application]) -> dict[int, User]:
    """The OWNER of each application, by application id, in one query."""
    rows = s.execute(
        select(AppMember.app_id, User)
        .join(User, User.id == AppMember.user_id)
        .where(AppMember.app_id.in_([app.id for app in apps]), AppMember.role == Role.OWNER)
    )
    return {app_id: user for app_id, user in rows}


def owner(s: Session, *, app: Application) -> User | None:
    return owners(s, apps=[app]).get(app.id)


def create_owned_app(s: Session, *, user: User, name: str) -> Access:
    if not roles.can_create_app(Role(user.global_role)):
        raise InsufficientPrivileges
    app = face_services.create_application(s, name=name)
    s.add(AppMember(app_id=app.id, user_id=user.id, role=Role.OWNER))
    s.flush()
    return Access(app, user, Role.OWNER)


def rename_app(s: Session, *, standing: Access, name: str) -> None:
    standing.require_manage()
    face_services.rename_application(s, application=standing.app, name=name)


def delete_app(s: Session, *, standing: Access) -> None:
    """Deletes its services, collections and statistics too (ON DELETE CASCADE)."""
    standing.require_manage()
    s.execute(delete(Application).where(Application.id == standing.app.id))
    s.expunge(standing.app)


# --- members ------------------------------------------------------------------------------------


def members(s: Session, *, app: Application, search: str = "") -> list[tuple[User, Role]]:
    query = (
        select(User, AppMember.role)
        .join(AppMember, AppMember.user_id == User.id)
        .where(AppMember.app_id == app.id)
        .order_by(User.first_name, User.last_name, User.email)
    )
    if search.strip():
        query = query.where(accounts.user_matches(search))
    return [(user, Role(role)) for user, role in s.execute(query)]


def _hand_over(s: Session, *, app: Application) -> None:
    """There is one app OWNER: naming another makes the previous one ADMINISTRATOR."""
    previous = s.scalar(
        select(AppMember)
        .where(AppMember.app_id == app.id, AppMember.role == Role.OWNER)
        .execution_options(populate_existing=True)  # read after the app's guard: as it is now
    )
    if previous is not None:
        previous.role = Role.ADMINISTRATOR


def invite(s: Session, *, standing: Access, email: str, role: Role) -> User:
    standing = _settled(s, standing)
    standing.require_manage()
    user = accounts.user_by_email(s, email)
    if user is None or not user.enabled:
        raise UserNotFound(email)
    if s.get(AppMember, (standing.app.id, user.id)) is not None:
        raise AlreadyMember(user.email, standing.app.name)
    if role == Role.OWNER:
        _hand_over(s, app=standing.app)
    s.add(AppMember(app_id=standing.app.id, user_id=user.id, role=role))
    flush_unique(s, AlreadyMember(user.email, standing.app.name))
    return user


def _member(s: Session, *, app: Application, user_guid: str) -> AppMember:
    user = accounts.user_by_guid(s, user_guid)
    member = s.get(AppMember, (app.id, user.id), populate_existing=True)
    if member is None:
        raise UserNotFound(user_guid)
    return member


def set_member_role(s: Session, *, standing: Access, user_guid: str, role: Role) -> User:
    standing = _settled(s, standing)
    member = _member(s, app=standing.app, user_guid=user_guid)
    roles.check_member_role_change(standing.global_role, standing.app_role, Role(member.role))
    if role == Role.OWNER:
        _hand_over(s, app=standing.app)
    member.role = role
    s.flush()
    return member.user


def remove_member(s: Session, *, standing: Access, user_guid: str) -> None:
    standing = _settled(s, standing)
    member = _member(s, app=standing.app, user_guid=user_guid)
    roles.check_member_removal(
        standing.global_role,
        standing.app_role,
        is_self=member.user_id == standing.user.id,
        target=Role(member.role),
    )
    s.delete(member)
    s.flush()


# --- services -----------------------------------------------------------------------------------


def service_in(s: Session, *, standing: Access, service_guid: str) -> Service:
    """A service of this application; one of another application is reported as not in it."""
    service = face_services.service_by_guid(s, guid=service_guid)
    if service is None or service.app_id != standing.app.id:
        raise ServiceNotInApp(service_guid, standing.app.guid)
    return service


def create_service(
    s: Session,
    *,
    standing: Access,
    name: str,
    type: str,
    response_format: ResponseFormat | None = None,
) -> Service:
    standing.require_edit_services()
    return face_services.create_service(
        s, app=standing.app, name=name, type=type, response_format=response_format
    )


def rename_service(s: Session, *, standing: Access, service: Service, name: str) -> None:
    standing.require_edit_services()
    face_services.rename_service(s, service=service, name=name)


def webhooks(s: Session, *, service: Service) -> list[Webhook]:
    """The service's webhooks, without their secrets' being shown (any reader of the app)."""
    return hooks.of_service(s, service=service)


def add_webhook(
    s: Session,
    *,
    standing: Access,
    service: Service,
    url: str,
    event_types: list[str],
    enabled: bool,
) -> Webhook:
    standing.require_edit_services()
    return hooks.add(s, service=service, url=url, event_types=event_types, enabled=enabled)


def set_webhook_enabled(
    s: Session, *, standing: Access, service: Service, webhook_guid: str, enabled: bool
) -> Webhook:
    standing.require_edit_services()
    hook = hooks.get(s, service=service, guid=webhook_guid)
    hooks.set_enabled(s, hook=hook, enabled=enabled)
    return hook


def delete_webhook(s: Session, *, standing: Access, service: Service, webhook_guid: str) -> None:
    standing.require_edit_services()
    hooks.delete(s, hook=hooks.get(s, service=service, guid=webhook_guid))


def deliveries(s: Session, *, service: Service) -> list[outbox.DeliveryView]:
    """The service's latest deliveries, to webhooks and MQTT, newest first."""
    return outbox.recent_deliveries(s, service=service)


def change_settings(s: Session, *, standing: Access, service: Service, **changes: Any) -> None:
    """The service's own settings named (`face_services.ServiceSettings`)."""
    standing.require_edit_services()
    face_services.change_settings(s, service=service, **changes)


def clone_service(s: Session, *, standing: Access, service: Service, name: str) -> Service:
    standing.require_edit_services()
    return face_services.clone_service(s, service=service, name=name)


def regenerate_key(s: Session, *, standing: Access, service: Service) -> None:
    standing.require_edit_services()
    face_services.regenerate_key(s, service=service)


def delete_service(s: Session, *, standing: Access, service: Service) -> None:
    standing.require_edit_services()
    face_services.delete_service(s, service=service)


def counts(s: Session, *, app: Application) -> dict[int, tuple[int, int]]:
    """Subjects and examples of each service of the application, by service id."""
    return {
        summary.service.id: (summary.subject_count, summary.example_count)
        for summary in face_services.list_services(s, app=app)
    }


def statistics(s: Session, *, service: Service) -> list[tuple[date, int]]:
    """Requests per day over the last six months, newest first (CompreFace's dashboard)."""
    since = utcnow().date() - timedelta(days=31 * STATISTICS_MONTHS)
    return sorted(request_statistics.request_counts(s, service=service, since=since), reverse=True)
