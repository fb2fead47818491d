"""Face services of an application (CompreFace's "models"): keys, clones, counts, statistics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from facegate.admin import applications, audit
from facegate.admin.applications import Access
from facegate.api.admin.deps import ActorDep, CurrentUser
from facegate.api.admin.schemas import (
    DayCount,
    DeliveryOut,
    FrigateOut,
    NameOnly,
    NewService,
    NewWebhook,
    NewWebhookOut,
    ServiceOut,
    ServiceSettings,
    WebhookChange,
    WebhookOut,
)
from facegate.api.deps import SessionDep
from facegate.config import Settings
from facegate.db.tables import Service, User

router = APIRouter(prefix="/app/{app_id}", tags=["admin: services"])


def _service(session: Session, user: User, app_id: str, service_id: str) -> tuple[Access, Service]:
    standing = applications.access(session, user=user, app_guid=app_id)
    return standing, applications.service_in(session, standing=standing, service_guid=service_id)


def _out(session: Session, standing: Access, service: Service) -> ServiceOut:
    counts = applications.counts(session, app=standing.app)
    return ServiceOut.of(service, counts.get(service.id, (0, 0)))


@router.get("/models")
def list_services(
    app_id: str, session: SessionDep, user: CurrentUser, actor: ActorDep
) -> list[ServiceOut]:
    standing = applications.access(session, user=user, app_guid=app_id)
    counts = applications.counts(session, app=standing.app)
    services = sorted(standing.app.services, key=lambda service: service.name.lower())
    for service in services:
        audit.record(session, audit.KEY_SHOWN, actor=actor, target=service.guid, app=app_id)
    return [ServiceOut.of(service, counts.get(service.id, (0, 0))) for service in services]


@router.post("/model", status_code=201)
def create_service(
    app_id: str, body: NewService, session: SessionDep, user: CurrentUser, actor: ActorDep
) -> ServiceOut:
    standing = applications.access(session, user=user, app_guid=app_id)
    service = applications.create_service(
        session,
        standing=standing,
        name=body.name,
        type=body.type,
        response_format=body.response_format,
    )
    audit.record(
        session, audit.SERVICE_CREATED, actor=actor, target=service.guid, app=app_id, name=body.name
    )
    return ServiceOut.of(service)


@router.get("/model/{service_id}")
def get_service(
    app_id: str, service_id: str, session: SessionDep, user: CurrentUser, actor: ActorDep
) -> ServiceOut:
    standing, service = _service(session, user, app_id, service_id)
    audit.record(session, audit.KEY_SHOWN, actor=actor, target=service.guid, app=app_id)
    return _out(session, standing, service)


@router.put("/model/{service_id}")
def rename_service(
    app_id: str, service_id: str, body: NameOnly, session: SessionDep, user: CurrentUser
) -> ServiceOut:
    standing, service = _service(session, user, app_id, service_id)
    applications.rename_service(session, standing=standing, service=service, name=body.name)
    return _out(session, standing, service)


@router.put("/model/{service_id}/settings")
def change_settings(
    app_id: str, service_id: str, body: ServiceSettings, session: SessionDep, user: CurrentUser
) -> ServiceOut:
    """The service's own settings, those the body names (the others keep their values)."""
    standing, service = _service(session, user, app_id, service_id)
    applications.change_settings(session, standing=standing, service=service, **body.changes())
    return _out(session, standing, service)


@router.post("/model/{service_id}", status_code=201)
def clone_service(
    app_id: str,
    service_id: str,
    body: NameOnly,
    session: SessionDep,
    user: CurrentUser,
    actor: ActorDep,
) -> ServiceOut:
    """A new service with its own key and a copy of the collection."""
    standing, service = _service(session, user, app_id, service_id)
    clone = applications.clone_service(session, standing=standing, service=service, name=body.name)
    audit.record(
        session,
        audit.SERVICE_CREATED,
        actor=actor,
        target=clone.guid,
        app=app_id,
        name=body.name,
        clone_of=service.guid,
    )
    return _out(session, standing, clone)


@router.put("/model/{service_id}/apikey")
def regenerate_key(
    app_id: str, service_id: str, session: SessionDep, user: CurrentUser, actor: ActorDep
) -> ServiceOut:
    standing, service = _service(session, user, app_id, service_id)
    applications.regenerate_key(session, standing=standing, service=service)
    audit.record(session, audit.KEY_REGENERATED, actor=actor, target=service.guid, app=app_id)
    return _out(session, standing, service)


@router.delete("/model/{service_id}", status_code=204)
def delete_service(
    app_id: str, service_id: str, session: SessionDep, user: CurrentUser, actor: ActorDep
) -> None:
    standing, service = _service(session, user, app_id, service_id)
    name = service.name
    applications.delete_service(session, standing=standing, service=service)
    audit.record(
        session, audit.SERVICE_DELETED, actor=actor, target=service_id, app=app_id, name=name
    )


@router.get("/model/{service_id}/statistics")
def statistics(
    app_id: str, service_id: str, session: SessionDep, user: CurrentUser
) -> list[DayCount]:
    """Requests per day, newest first, over the last six months."""
    _standing, service = _service(session, user, app_id, service_id)
    return [
        DayCount(created_date=day, request_count=count)
        for day, count in applications.statistics(session, service=service)
    ]


@router.get("/model/{service_id}/webhooks")
def list_webhooks(
    app_id: str, service_id: str, session: SessionDep, user: CurrentUser
) -> list[WebhookOut]:
    _standing, service = _service(session, user, app_id, service_id)
    return [WebhookOut.of(hook) for hook in applications.webhooks(session, service=service)]


@router.post("/model/{service_id}/webhooks", status_code=201)
def add_webhook(
    app_id: str,
    service_id: str,
    body: NewWebhook,
    session: SessionDep,
    user: CurrentUser,
    actor: ActorDep,
) -> NewWebhookOut:
    """A new webhook; the answer holds its signing secret, shown this once (docs/events.md)."""
    standing, service = _service(session, user, app_id, service_id)
    hook = applications.add_webhook(
        session,
        standing=standing,
        service=service,
        url=body.url,
        event_types=body.events,
        enabled=body.enabled,
    )
    audit.record(
        session,
        audit.WEBHOOK_CREATED,
        actor=actor,
        target=hook.guid,
        service=service_id,
        url=hook.url,
    )
    return NewWebhookOut.created(hook)


@router.put("/model/{service_id}/webhooks/{webhook_id}")
def change_webhook(
    app_id: str,
    service_id: str,
    webhook_id: str,
    body: WebhookChange,
    session: SessionDep,
    user: CurrentUser,
) -> WebhookOut:
    standing, service = _service(session, user, app_id, service_id)
    hook = applications.set_webhook_enabled(
        session, standing=standing, service=service, webhook_guid=webhook_id, enabled=body.enabled
    )
    return WebhookOut.of(hook)


@router.delete("/model/{service_id}/webhooks/{webhook_id}", status_code=204)
def delete_webhook(
    app_id: str,
    service_id: str,
    webhook_id: str,
    session: SessionDep,
    user: CurrentUser,
    actor: ActorDep,
) -> None:
    standing, service = _service(session, user, app_id, service_id)
    applications.delete_webhook(
        session, standing=standing, service=service, webhook_guid=webhook_id
    )
    audit.record(session, audit.WEBHOOK_DELETED, actor=actor, target=webhook_id, service=service_id)


@router.get("/model/{service_id}/deliveries")
def list_deliveries(
    app_id: str, service_id: str, session: SessionDep, user: CurrentUser
) -> list[DeliveryOut]:
    """The latest 50 deliveries of the service's events, newest first."""
    _standing, service = _service(session, user, app_id, service_id)
    return [DeliveryOut.of(view) for view in applications.deliveries(session, service=service)]


@router.get("/model/{service_id}/frigate")
def frigate_status(
    app_id: str, service_id: str, request: Request, session: SessionDep, user: CurrentUser
) -> FrigateOut:
    """The Frigate companion as this service sees it (docs/frigate.md): whether the server has
    Frigate, whether and on which cameras the service takes its person events (the
    environment's service: by environment), and the links as /healthz shows them."""
    _standing, service = _service(session, user, app_id, service_id)
    settings: Settings = request.app.state.settings
    if not settings.frigate_url or service.type != "recognition":
        return FrigateOut(configured=False)
    by_environment = service.api_key == settings.frigate_service_key
    cameras = settings.frigate_cameras if by_environment else service.frigate_cameras
    companion = request.app.state.frigate
    return FrigateOut.of(
        url=settings.frigate_url,
        cameras=cameras,
        by_environment=by_environment,
        # None: another worker of this server runs the companion.
        health=None if companion is None else companion.health(),
    )
