"""Sign-up, e-mail confirmation, login and logout, own profile and password, password reset."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from facegate.admin import accounts, audit, logins, mail, mail_outbox
from facegate.admin.audit import Actor
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
    FalseAcceptOut,
    Names,
    PasswordChange,
    PasswordOnly,
    Registration,
    RegistrationOut,
    UserOut,
)
from facegate.api.deps import ClientAddress, InferenceDep, SessionDep, SettingsDep
from facegate.collection import reads
from facegate.errors import (
    AccountDisabled,
    BadCredentials,
    LoginThrottled,
    MailDisabled,
    ResetMailThrottled,
)
from facegate.events.health import sink_health

router = APIRouter(tags=["admin: account"])


@router.get("/config")
def config(
    request: Request, session: SessionDep, settings: SettingsDep, inference: InferenceDep
) -> ConfigOut:
    """What the pages need to know: sign-up and mail, the face model with the examples it
    cannot search yet (the UI's banner), the response format of services that choose none,
    event sinks that cannot deliver (the dashboard's warning). Also hands out the CSRF
    cookie."""
    engine = inference.engine
    coverage = reads.coverage(session)
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
            false_accept_rates=[
                FalseAcceptOut(
                    rate=row.rate, similarity=row.similarity, pairs=row.pairs, accepted=row.accepted
                )
                for row in engine.false_accepts
            ],
        ),
        response_format=settings.response_format,
        event_problems=sink_health(session, mqtt=request.app.state.events.mqtt_status()).problems,
    )


@router.post("/user/register", status_code=201)
def register(
    body: Registration, session: SessionDep, settings: SettingsDep, address: ClientAddress
) -> RegistrationOut:
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
        message = mail.confirmation(
            settings, to=user.email, first_name=user.first_name, token=token
        )
        mail_outbox.queue(session, message)
    audit.record(
        session,
        audit.USER_REGISTERED,
        actor=Actor.of(user, address),
        target=user.guid,
        role=user.global_role,
    )
    return RegistrationOut(user=UserOut.of(user), confirmation_required=confirm)


@router.get("/user/registration/confirm", status_code=303, response_class=RedirectResponse)
def confirm_email(
    token: str, session: SessionDep, settings: SettingsDep, address: ClientAddress
) -> RedirectResponse:
    """The link of the confirmation e-mail: enables the account (the first one confirmed
    becomes the OWNER), then shows the login page."""
    user = accounts.confirm_email(session, token=token)
    actor = Actor.of(user, address)
    audit.record(
        session, audit.USER_CONFIRMED, actor=actor, target=user.guid, role=user.global_role
    )
    return RedirectResponse(f"{settings.public_url.rstrip('/')}/login?confirmed=1", 303)


@router.post("/login")
def login(
    body: Credentials,
    request: Request,
    response: Response,
    session: SessionDep,
    sessions: SessionMakerDep,
    settings: SettingsDep,
    address: ClientAddress,
) -> UserOut:
    """Count the attempt, check the password, then start a NEW session: the cookie the browser
    had before is revoked, so a planted session id is worthless."""
    # Counted and committed before the slow password check (docs/admin-api.md): guesses sent
    # at once are each counted, in every process. A refused attempt writes nothing, not even
    # to the audit trail: a flood of them must cost the database nothing.
    with sessions() as counting, counting.begin():
        wait = logins.attempt(counting, email=body.email, address=address)
    if wait:
        raise LoginThrottled(wait)
    try:
        user = accounts.authenticate(session, email=body.email, password=body.password)
    except (AccountDisabled, BadCredentials) as refused:
        # Its own transaction: the request's is rolled back by the error.
        with sessions() as failures, failures.begin():
            reason = refused.message
            audit.record(
                failures,
                audit.LOGIN_FAILED,
                actor=Actor.of(None, address),
                target=body.email,
                reason=reason,
            )
        raise
    logins.record_success(session, email=body.email)
    logins.refund(session, address=address)
    issued = logins.start(
        session, user=user, ttl=ttl(settings), replacing=request.cookies.get(SESSION_COOKIE)
    )
    audit.record(session, audit.LOGIN, actor=Actor.of(user, address), target=user.guid)
    set_cookies(request, response, settings, issued)
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
    end_session_cookies(request, response, settings)


@router.get("/user/me")
def me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)


@router.put("/user/update")
def update_profile(body: Names, user: CurrentUser) -> UserOut:
    accounts.update_name(user, first_name=body.first_name, last_name=body.last_name)
    return UserOut.of(user)


@router.put("/user/me/password", status_code=204)
def change_password(
    body: PasswordChange,
    user: CurrentUser,
    login: CurrentLogin,
    session: SessionDep,
    address: ClientAddress,
) -> None:
    """Other sessions of the user end; this one stays."""
    accounts.change_password(user, old=body.old_password, new=body.new_password)
    logins.revoke_all(session, user=user, keep=login)
    audit.record(session, audit.PASSWORD_CHANGED, actor=Actor.of(user, address), target=user.guid)


@router.post("/user/forgot-password", status_code=204)
def forgot_password(body: EmailOnly, session: SessionDep, settings: SettingsDep) -> None:
    """Queues a reset link; answers the same, in the same time, whether or not the address has
    an account and whether or not the mail server is up: the request writes the same row for
    every address, and the mail worker finds the account (facegate.admin.mail_outbox).
    Throttled per address like failed logins."""
    if not settings.enable_email_server:
        raise MailDisabled
    wait = logins.reset_mail_attempt(session, email=body.email)
    if wait:
        raise ResetMailThrottled(wait)
    mail_outbox.queue_reset(session, email=body.email)


@router.put("/user/reset-password", status_code=204)
def reset_password(
    token: str, body: PasswordOnly, session: SessionDep, address: ClientAddress
) -> None:
    """Single use, 15 minutes; every session of the user ends."""
    user = accounts.reset_password(session, token=token, password=body.password)
    audit.record(session, audit.PASSWORD_RESET, actor=Actor.of(user, address), target=user.guid)
