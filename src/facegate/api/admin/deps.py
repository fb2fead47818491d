"""Admin API dependencies: the login session from its cookie, CSRF checks, the current user, and
the caller's standing in the application and service of the path.

A handler declares what it reaches as a parameter (`AppAccess`, `ServiceAccess`,
`dependencies=[Depends(server_administrator)]`), as the fastapi full-stack template's `deps.py`
does; these only find who and what, and the rules of who may do what stay in `admin/roles.py`
and `admin/applications.py` (`Access.require_*`)."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Annotated, NamedTuple

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from facegate.admin import accounts, applications, audit, logins, roles
from facegate.admin.applications import Access
from facegate.api.addresses import forwarded_proto, from_trusted_proxy
from facegate.api.deps import ClientAddress, SessionDep, SettingsDep
from facegate.config import Settings
from facegate.db.tables import LoginSession, Service, User
from facegate.errors import CsrfRejected, NotAuthenticated

SESSION_COOKIE = "facegate_session"
CSRF_COOKIE = "facegate_csrf"
CSRF_HEADER = "X-CSRF-Token"
ADMIN_KEY_HEADER = "x-admin-key"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

log = logging.getLogger(__name__)


def ttl(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.session_ttl_seconds)


def secure_cookies(request: Request, settings: Settings) -> bool:
    """Cookies are `Secure` when the browser reached facegate over https: `public_url` says so,
    or a trusted proxy that terminates TLS does (`X-Forwarded-Proto: https`; docs/decisions.md
    D50)."""
    if settings.public_url.startswith("https://"):
        return True
    peer = request.client.host if request.client else None
    return forwarded_proto(peer, request.headers, settings.trusted_networks) == "https"


def set_cookies(
    request: Request, response: Response, settings: Settings, issued: logins.Issued
) -> None:
    """The session cookie is HttpOnly; the CSRF cookie is read by the page's JavaScript."""
    secure = secure_cookies(request, settings)
    max_age = settings.session_ttl_seconds
    response.set_cookie(
        SESSION_COOKIE, issued.token, max_age=max_age, httponly=True, samesite="lax", secure=secure
    )
    set_csrf_cookie(request, response, settings, issued.csrf_token)


def set_csrf_cookie(request: Request, response: Response, settings: Settings, token: str) -> None:
    secure = secure_cookies(request, settings)
    response.set_cookie(CSRF_COOKIE, token, samesite="lax", secure=secure)


def end_session_cookies(request: Request, response: Response, settings: Settings) -> None:
    """Drop the session cookie; a fresh anonymous CSRF token lets the page log in again."""
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    set_csrf_cookie(request, response, settings, secrets.token_urlsafe(32))


def session_maker(request: Request) -> sessionmaker[Session]:
    """For work that must commit even when the request fails (recording a failed login)."""
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def proxy_user_email(request: Request, settings: Settings) -> str | None:
    """The e-mail address a login proxy signed the request in as: the `trusted_user_header`,
    believed only from a trusted proxy (anyone can write a header; docs/decisions.md D51)."""
    header = settings.trusted_user_header
    value = request.headers.get(header) if header else None
    peer = request.client.host if request.client else None
    if not value or not from_trusted_proxy(peer, settings.trusted_networks):
        return None
    return value.strip()


def optional_login(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    address: ClientAddress,
) -> LoginSession | None:
    """The session of the cookie. Behind a login proxy the proxy's user is the one signed in:
    a cookie of anyone else is replaced by a new session of that user's account (the same
    session, CSRF token and roles as a password login); a user without an enabled account
    is nobody."""
    token = request.cookies.get(SESSION_COOKIE)
    login = logins.active(session, token=token) if token else None
    email = proxy_user_email(request, settings)
    if email is None:
        return login
    user = accounts.user_by_email(session, email)
    if user is None or not user.enabled:
        log.warning("the login proxy signed in %s, who has no enabled account here", email)
        return None
    if login is not None and login.user_id == user.id:
        return login
    issued = logins.start(session, user=user, ttl=ttl(settings), replacing=token)
    audit.record(
        session, audit.LOGIN, actor=audit.Actor.of(user, address), target=user.guid, via="proxy"
    )
    set_cookies(request, response, settings, issued)
    return logins.active(session, token=issued.token)


LoginDep = Annotated[LoginSession | None, Depends(optional_login)]


def csrf_guard(
    request: Request, response: Response, settings: SettingsDep, login: LoginDep
) -> None:
    """Double-submit: a write must echo the CSRF token in a header. Logged in, it must be the
    session's own token; anonymous (login, sign-up), the `facegate_csrf` cookie's."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if request.method in SAFE_METHODS:
        expected = login.csrf_token if login else cookie or secrets.token_urlsafe(32)
        if cookie != expected:
            set_csrf_cookie(request, response, settings, expected)
        return
    stored = login.csrf_token if login else cookie
    if not stored or not logins.csrf_matches(stored, request.headers.get(CSRF_HEADER)):
        raise CsrfRejected


def current_login(
    request: Request, response: Response, settings: SettingsDep, login: LoginDep
) -> LoginSession:
    if login is None:
        raise NotAuthenticated
    if logins.extend(login, ttl=ttl(settings)):
        token = request.cookies[SESSION_COOKIE]
        set_cookies(
            request, response, settings, logins.Issued(token, login.csrf_token, login.expires_at)
        )
    return login


CurrentLogin = Annotated[LoginSession, Depends(current_login)]


def current_user(session: SessionDep, login: CurrentLogin) -> User:
    user = session.get(User, login.user_id)
    if user is None or not user.enabled:
        raise NotAuthenticated
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def server_administrator(user: CurrentUser) -> User:
    """A global OWNER or ADMINISTRATOR: work on the whole server (the audit trail, the mail
    outbox, re-embedding every collection)."""
    roles.check_server_administration(roles.Role(user.global_role))
    return user


def app_access(app_id: str, session: SessionDep, user: CurrentUser) -> Access:
    """The caller's standing in the application `{app_id}` of the path: 404 code 2 for no such
    application, code 9 for one the caller may not read."""
    return applications.access(session, user=user, app_guid=app_id)


AppAccess = Annotated[Access, Depends(app_access)]


class InService(NamedTuple):
    """The caller's standing in the application, and the service of the path in it; a handler
    unpacks it (`standing, service = found`)."""

    standing: Access
    service: Service

    @property
    def app_guid(self) -> str:
        return self.standing.app.guid


def service_access(
    app_id: str, service_id: str, session: SessionDep, user: CurrentUser
) -> InService:
    """The service `{service_id}` of the path's application `{app_id}`: `app_access`'s answers,
    then 404 code 3 for a service of no or another application. (The path parameters are its
    own, not `AppAccess`'s, so that the OpenAPI lists them in the path's order.)"""
    standing = app_access(app_id, session, user)
    service = applications.service_in(session, standing=standing, service_guid=service_id)
    return InService(standing, service)


ServiceAccess = Annotated[InService, Depends(service_access)]


def current_actor(user: CurrentUser, address: ClientAddress) -> audit.Actor:
    """The logged-in user and the client address, as the audit trail names them."""
    return audit.Actor.of(user, address)


ActorDep = Annotated[audit.Actor, Depends(current_actor)]
SessionMakerDep = Annotated[sessionmaker[Session], Depends(session_maker)]


def administrator(
    request: Request, settings: SettingsDep, session: SessionDep, address: ClientAddress
) -> audit.Actor:
    """An administrator outside /admin (POST /api/v1/migrate): the `x-admin-key` header equal
    to the admin_key setting, or the login session of a global OWNER or ADMINISTRATOR, which,
    as a cookie, must echo its CSRF token (decisions.md D12). Returns who it is, for the audit
    trail."""
    given = request.headers.get(ADMIN_KEY_HEADER)
    if given is not None:
        expected = settings.admin_key
        if expected is None or not secrets.compare_digest(given.encode(), expected.encode()):
            raise NotAuthenticated(f"Wrong {ADMIN_KEY_HEADER}")
        return audit.Actor(None, "admin key", address)
    token = request.cookies.get(SESSION_COOKIE)
    login = logins.active(session, token=token) if token else None
    if login is None:
        raise NotAuthenticated(f"Log in as an administrator, or send the {ADMIN_KEY_HEADER} header")
    if not logins.csrf_matches(login.csrf_token, request.headers.get(CSRF_HEADER)):
        raise CsrfRejected
    user = server_administrator(current_user(session, login))
    return audit.Actor.of(user, address)


Administrator = Annotated[audit.Actor, Depends(administrator)]
