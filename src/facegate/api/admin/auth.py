"""Sign-up, e-mail confirmation, login and logout, own profile and password, password reset."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from facegate.admin import accounts, logins, mail
from facegate.api.admin.deps import (
    SESSION_COOKIE,
    CurrentLogin,
    CurrentUser,
    SessionMakerDep,
    end_session_cookies,
    set_cookies,
    ttl,
)
from facegate.api.admin.schemas import (
    ConfigOut,
    Credentials,
    EmailOnly,
    FaceModelOut,
    Names,
    PasswordChange,
    PasswordOnly,
    Registration,
    RegistrationOut,
    UserOut,
)
from facegate.api.deps import InferenceDep, SessionDep, SettingsDep
from facegate.collection import stored
from facegate.errors import (
    AccountDisabled,
    BadCredentials,
    LoginThrottled,
    MailDisabled,
    ResetMailThrottled,
)

router = APIRouter(tags=["admin: account"])


@router.get("/config")
def config(session: SessionDep, settings: SettingsDep, inference: InferenceDep) -> ConfigOut:
    """What the pages need to know: sign-up and mail, the face model with the examples it
    cannot search yet (the UI's banner), the response format of services that choose none.
    Also hands out the CSRF cookie."""
    engine = inference.engine
    coverage = stored.coverage(session)
    return ConfigOut(
        mail_service_enabled=settings.enable_email_server,
        signup_open=accounts.signup_open(session, allow_signup=settings.allow_signup),
        face_model=FaceModelOut(
            name=engine.model,
            calculator=engine.calculator_id,
            licence=engine.licence,
            inconsistent_examples=coverage.examples
            - coverage.by_model.get(engine.calculator_id, 0),
            examples=coverage.examples,
            embedded_by_model=coverage.by_model,
        ),
        response_format=settings.response_format,
    )


@router.post("/user/register", status_code=201)
def register(body: Registration, session: SessionDep, settings: SettingsDep) -> RegistrationOut:
    """Open sign-up; the first account becomes the global OWNER. Does not log in."""
    confirm = settings.enable_email_server
    user = accounts.register(
        session,
        email=body.email,
        password=body.password,
        first_name=body.first_name,
        last_name=body.last_name,
        allow_signup=settings.allow_signup,
        confirm_by_email=confirm,
    )
    if confirm:
        token = accounts.issue_token(session, user=user, purpose=accounts.CONFIRM)
        mail.send_confirmation(settings, to=user.email, first_name=user.first_name, token=token)
    return RegistrationOut(user=UserOut.of(user), confirmation_required=confirm)


@router.get("/user/registration/confirm", status_code=303, response_class=RedirectResponse)
def confirm_email(token: str, session: SessionDep, settings: SettingsDep) -> RedirectResponse:
    """The link of the confirmation e-mail: enables the account, then shows the login page."""
    accounts.confirm_email(session, token=token)
    return RedirectResponse(f"{settings.public_url.rstrip('/')}/login?confirmed=1", 303)


@router.post("/login")
def login(
    body: Credentials,
    request: Request,
    response: Response,
    session: SessionDep,
    sessions: SessionMakerDep,
    settings: SettingsDep,
) -> UserOut:
    """Check the password (throttled), then start a NEW session: the cookie the browser had
    before is revoked, so a planted session id is worthless."""
    address = request.client.host if request.client else None
    wait = logins.wait_seconds(session, email=body.email, address=address)
    if wait:
        raise LoginThrottled(wait)
    try:
        user = accounts.authenticate(session, email=body.email, password=body.password)
    except AccountDisabled:
        raise
    except BadCredentials:
        # Its own transaction: the request's is rolled back by the error.
        with sessions() as failures, failures.begin():
            logins.record_failure(failures, email=body.email, address=address)
        raise
    logins.record_success(session, email=body.email)
    issued = logins.start(
        session, user=user, ttl=ttl(settings), replacing=request.cookies.get(SESSION_COOKIE)
    )
    set_cookies(response, settings, issued)
    return UserOut.of(user)


@router.post("/logout", status_code=204)
def logout(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    _login: CurrentLogin,
) -> None:
    logins.revoke(session, token=request.cookies[SESSION_COOKIE])
    end_session_cookies(response, settings)


@router.get("/user/me")
def me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)


@router.put("/user/update")
def update_profile(body: Names, user: CurrentUser) -> UserOut:
    accounts.update_name(user, first_name=body.first_name, last_name=body.last_name)
    return UserOut.of(user)


@router.put("/user/me/password", status_code=204)
def change_password(
    body: PasswordChange, user: CurrentUser, login: CurrentLogin, session: SessionDep
) -> None:
    """Other sessions of the user end; this one stays."""
    accounts.change_password(user, old=body.old_password, new=body.new_password)
    logins.revoke_all(session, user=user, keep=login)


@router.post("/user/forgot-password", status_code=204)
def forgot_password(body: EmailOnly, session: SessionDep, settings: SettingsDep) -> None:
    """Mails a reset link; answers the same whether or not the address has an account.
    Throttled per address like failed logins (docs/admin-api.md)."""
    if not settings.enable_email_server:
        raise MailDisabled
    wait = logins.reset_mail_wait(session, email=body.email)
    if wait:
        raise ResetMailThrottled(wait)
    logins.record_reset_mail(session, email=body.email)
    user = accounts.user_by_email(session, body.email)
    if user is not None and user.enabled:
        token = accounts.issue_token(session, user=user, purpose=accounts.RESET)
        mail.send_reset(settings, to=user.email, first_name=user.first_name, token=token)


@router.put("/user/reset-password", status_code=204)
def reset_password(token: str, body: PasswordOnly, session: SessionDep) -> None:
    """Single use, 15 minutes; every session of the user ends."""
    accounts.reset_password(session, token=token, password=body.password)
