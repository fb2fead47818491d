"""Admin API dependencies: the login session from its cookie, CSRF checks, the current user."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from facegate.admin import audit, logins, roles
from facegate.api.deps import ClientAddress, SessionDep, SettingsDep
from facegate.config import Settings
from facegate.db.tables import LoginSession, User
from facegate.errors import CsrfRejected, NotAuthenticated

SESSION_COOKIE = "facegate_session"
CSRF_COOKIE = "facegate_csrf"
CSRF_HEADER = "X-CSRF-Token"
ADMIN_KEY_HEADER = "x-admin-key"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def ttl(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.session_ttl_seconds)


def set_cookies(response: Response, settings: Settings, issued: logins.Issued) -> None:
    """The session cookie is HttpOnly; the CSRF cookie is read by the page's JavaScript."""
    secure = settings.public_url.startswith("https://")
    max_age = settings.session_ttl_seconds
    response.set_cookie(
        SESSION_COOKIE, issued.token, max_age=max_age, httponly=True, samesite="lax", secure=secure
    )
    set_csrf_cookie(response, settings, issued.csrf_token)


def set_csrf_cookie(response: Response, settings: Settings, token: str) -> None:
    secure = settings.public_url.startswith("https://")
    response.set_cookie(CSRF_COOKIE, token, samesite="lax", secure=secure)


def end_session_cookies(response: Response, settings: Settings) -> None:
    """Drop the session cookie; a fresh anonymous CSRF token lets the page log in again."""
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    set_csrf_cookie(response, settings, secrets.token_urlsafe(32))


def session_maker(request: Request) -> sessionmaker[Session]:
    """For work that must commit even when the request fails (recording a failed login)."""
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def optional_login(request: Request, session: SessionDep) -> LoginSession | None:
    token = request.cookies.get(SESSION_COOKIE)
    return logins.active(session, token=token) if token else None


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
            set_csrf_cookie(response, settings, expected)
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
        set_cookies(response, settings, logins.Issued(token, login.csrf_token, login.expires_at))
    return login


CurrentLogin = Annotated[LoginSession, Depends(current_login)]


def current_user(session: SessionDep, login: CurrentLogin) -> User:
    user = session.get(User, login.user_id)
    if user is None or not user.enabled:
        raise NotAuthenticated
    return user


CurrentUser = Annotated[User, Depends(current_user)]


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
    user = current_user(session, login)
    roles.check_server_administration(roles.Role(user.global_role))
    return audit.Actor.of(user, address)


Administrator = Annotated[audit.Actor, Depends(administrator)]
