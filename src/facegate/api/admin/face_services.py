"""Face services of an application (CompreFace's "models"): keys, clones, counts, statistics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from facegate.admin import applications, audit
from facegate.api.admin.deps import ActorDep, AppAccess, ServiceAccess
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
from facegate.db.tables import Service

router = APIRouter(prefix="/app/{app_id}", tags=["admin: services"])


def _out(session: Session, service: Service) -> ServiceOut:
    counts = applications.counts(session, app=service.application)
    return ServiceOut.of(service, counts.get(service.id, (0, 0)))


@router.get("/models")
def list_services(standing: AppAccess, session: SessionDep, actor: ActorDep) -> list[ServiceOut]:
    counts = applications.counts(session, app=standing.app)
    services = sorted(standing.app.services, key=lambda service: service.name.lower())
    for service in services:
        audit.record(
            session, audit.KEY_SHOWN, actor=actor, target=service.guid, app=standing.app.guid
        )
    return [ServiceOut.of(service, counts.get(service.id, (0, 0))) for service in services]


@router.post("/model", status_code=201)
def create_service(
    body: NewService, standing: AppAccess, session: SessionDep, actor: ActorDep
) -> ServiceOut:
    service = applications.create_service(
        session,
        standing=standing,
        name=body.name,
        type=body.type,
        response_format=body.response_format,
    )
    audit.record(
        session,
        audit.SERVICE_CREATED,
        actor=actor,
        target=service.guid,
        app=standing.app.guid,
        name=body.name,
    )
    return ServiceOut.of(service)


@router.get("/model/{service_id}")
def get_service(found: ServiceAccess, session: SessionDep, actor: ActorDep) -> ServiceOut:
    service = found.service
    audit.record(session, audit.KEY_SHOWN, actor=actor, target=service.guid, app=found.app_guid)
    return _out(session, service)


@router.put("/model/{service_id}")
def rename_service(body: NameOnly, found: ServiceAccess, session: SessionDep) -> ServiceOut:
    standing, service = found
    applications.rename_service(session, standing=standing, service=service, name=body.name)
    return _out(session, service)


@router.put("/model/{service_id}/settings")
def change_settings(body: ServiceSettings, found: ServiceAccess, session: SessionDep) -> ServiceOut:
    """The service's own settings, those the body names (the others keep their values)."""
    standing, service = found
    applications.change_settings(session, standing=standing, service=service, **body.changes())
    return _out(session, service)


@router.post("/model/{service_id}", status_code=201)
def clone_service(
    body: NameOnly, found: ServiceAccess, session: SessionDep, actor: ActorDep
) -> ServiceOut:
    """A new service with its own key and a copy of the collection."""
    standing, service = found
    clone = applications.clone_service(session, standing=standing, service=service, name=body.name)
    audit.record(
        session,
        audit.SERVICE_CREATED,
        actor=actor,
        target=clone.guid,
        app=found.app_guid,
        name=body.name,
        clone_of=service.guid,
    )
    return _out(session, clone)


@router.put("/model/{service_id}/apikey")
def regenerate_key(found: ServiceAccess, session: SessionDep, actor: ActorDep) -> ServiceOut:
    standing, service = found
    applications.regenerate_key(session, standing=standing, service=service)
    audit.record(
        session, audit.KEY_REGENERATED, actor=actor, target=service.guid, app=found.app_guid
    )
    return _out(session, service)


@router.delete("/model/{service_id}", status_code=204)
def delete_service(found: ServiceAccess, session: SessionDep, actor: ActorDep) -> None:
    standing, service = found
    service_id, name = service.guid, service.name
    applications.delete_service(session, standing=standing, service=service)
    audit.record(
        session,
        audit.SERVICE_DELETED,
        actor=actor,
        target=service_id,
        app=found.app_guid,
        name=name,
    )


@router.get("/model/{service_id}/statistics")
def statistics(found: ServiceAccess, session: SessionDep) -> list[DayCount]:
    """Requests per day, newest first, over the last six months."""
    return [
        DayCount(created_date=day, request_count=count)
        for day, count in applications.statistics(session, service=found.service)
    ]


@router.get("/model/{service_id}/webhooks")
def list_webhooks(found: ServiceAccess, session: SessionDep) -> list[WebhookOut]:
    return [WebhookOut.of(hook) for hook in applications.webhooks(session, service=found.service)]


@router.post("/model/{service_id}/webhooks", status_code=201)
def add_webhook(
    body: NewWebhook, found: ServiceAccess, session: SessionDep, actor: ActorDep
) -> NewWebhookOut:
    """A new webhook; the answer holds its signing secret, shown this once (docs/events.md)."""
    standing, service = found
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
        service=service.guid,
        url=hook.url,
    )
    return NewWebhookOut.created(hook)


@router.put("/model/{service_id}/webhooks/{webhook_id}")
def change_webhook(
    webhook_id: str, body: WebhookChange, found: ServiceAccess, session: SessionDep
) -> WebhookOut:
    standing, service = found
    hook = applications.set_webhook_enabled(
        session, standing=standing, service=service, webhook_guid=webhook_id, enabled=body.enabled
    )
    return WebhookOut.of(hook)


@router.delete("/model/{service_id}/webhooks/{webhook_id}", status_code=204)
def delete_webhook(
    webhook_id: str, found: ServiceAccess, session: SessionDep, actor: ActorDep
) -> None:
    standing, service = found
    applications.delete_webhook(
        session, standing=standing, service=service, webhook_guid=webhook_id
    )
    audit.record(
        session, audit.WEBHOOK_DELETED, actor=actor, target=webhook_id, service=service.guid
    )


@router.get("/model/{service_id}/deliveries")
def list_deliveries(found: ServiceAccess, session: SessionDep) -> list[DeliveryOut]:
    """The latest 50 deliveries of the service's events, newest first."""
    views = applications.deliveries(session, service=found.service)
    return [DeliveryOut.of(view) for view in views]


@router.get("/model/{service_id}/frigate")
def frigate_status(found: ServiceAccess, request: Request) -> FrigateOut:
    """The Frigate companion as this service sees it (docs/frigate.md): whether the server has
    Frigate, whether and on which cameras the service takes its person events (the
    environment's service: by environment), and the links as /healthz shows them."""
    service = found.service
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
