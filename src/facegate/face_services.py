"""Data access for face services: the applications that group them, their keys, request counts.

Plain functions taking a Session first and keyword-only arguments, like
`facegate.collection.store` (which holds each service's face collection); the caller owns the
transaction. Like the store with subjects' names, they check the names of applications and
services themselves, so the admin API, the CLI and imports cannot apply different rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from facegate import names
from facegate.collection import reads, rejections, unknown
from facegate.collection.quality_gate import QualityLimits
from facegate.config import RESPONSE_FORMATS, ResponseFormat
from facegate.db.session import flush_unique
from facegate.db.tables import (
    Application,
    Embedding,
    Example,
    ExampleImage,
    Service,
    Subject,
    could_be_id,
    new_uuid,
)
from facegate.errors import EmptyField, InvalidParameter, NameNotUnique

SERVICE_TYPES = ("recognition", "detection", "verification")
# Frigate's camera names (its config keys): letters, digits, `_` and `-`.
_CAMERA = re.compile(r"[A-Za-z0-9_-]+")
FRIGATE_CAMERAS_MAX = 500  # the column's width
DEFAULT_APPLICATION = "Default application"


@dataclass(frozen=True)
class ServiceSummary:
    service: Service
    subject_count: int
    example_count: int


# --- applications -----------------------------------------------------------------------------


def create_application(s: Session, *, name: str) -> Application:
    application = Application(name=_application_name(s, name=name, renaming=None))
    s.add(application)
    flush_unique(s, NameNotUnique(application.name))  # the same name created at the same moment
    return application


def rename_application(s: Session, *, application: Application, name: str) -> None:
    application.name = _application_name(s, name=name, renaming=application)
    flush_unique(s, NameNotUnique(application.name))


def application_named(s: Session, *, name: str | None) -> Application:
    """The application called `name`, created if there is none; the default one for None (the
    CLI's `--app`)."""
    if name is None:
        return default_application(s)
    name = _valid_name(name, what="Application")
    return find_application(s, name=name) or create_application(s, name=name)


def find_application(s: Session, *, name: str) -> Application | None:
    return s.scalar(select(Application).where(Application.name == name))


def default_application(s: Session) -> Application:
    """The application services go to when none is named; created on first use."""
    return find_application(s, name=DEFAULT_APPLICATION) or create_application(
        s, name=DEFAULT_APPLICATION
    )


# --- names -------------------------------------------------------------------------------------
# The one rule for applications' and services' names (decisions.md D82): every function here that
# creates, renames or clones one checks it, whoever calls.


def _valid_name(name: str, *, what: str) -> str:
    """`name` as stored (stripped) if `names.check` allows it; its messages name `what`."""
    return names.check(name, what=f"{what} name", empty=EmptyField("name"))


def _application_name(s: Session, *, name: str, renaming: Application | None) -> str:
    """A valid name no other application bears exactly (code 17)."""
    name = _valid_name(name, what="Application")
    clash = select(Application.id).where(Application.name == name)
    if renaming is not None:
        clash = clash.where(Application.id != renaming.id)
    if s.scalar(clash) is not None:
        raise NameNotUnique(name)
    return name


def _service_name(s: Session, *, app_id: int, name: str, renaming: Service | None) -> str:
    """A valid name no other service of the application bears in any case (code 17), as in
    CompreFace's admin: there a service renamed may change its name's case, but renaming it to
    its very own name is refused too (decisions.md C5.2)."""
    name = _valid_name(name, what="Service")
    clash = select(Service.id).where(
        Service.app_id == app_id, func.lower(Service.name) == name.lower()
    )
    if renaming is not None and renaming.name != name:
        clash = clash.where(Service.id != renaming.id)
    if s.scalar(clash) is not None:
        raise NameNotUnique(name)
    return name


# --- services ---------------------------------------------------------------------------------


def create_service(
    s: Session,
    *,
    app: Application,
    name: str,
    type: str,
    response_format: ResponseFormat | None = None,
) -> Service:
    if type not in SERVICE_TYPES:
        raise ValueError(f"service type must be one of {SERVICE_TYPES}, not {type!r}")
    name = _service_name(s, app_id=app.id, name=name, renaming=None)
    service = Service(app_id=app.id, name=name, type=type, version=0)
    s.add(service)
    change_settings(s, service=service, response_format=response_format)
    return service


@dataclass(frozen=True)
class ServiceSettings:
    """What a service chooses for itself: each field is the `Service` column of the same name.

    A new per-service setting is a field here (and in `_CHECKS` when a value needs checking or
    has consequences), its column and migration, a field of the admin API's
    `ServiceSettingsFields`, and its use (docs/architecture.md, "One feature, few files")."""

    response_format: ResponseFormat | None = None  # None: the server's setting
    similarity_threshold: float | None = None  # None: recognition keeps every match (D19)
    enrolment_quality: QualityLimits | None = None  # None: the quality gate is off (D24)
    mqtt_events: bool = False  # whether its events go to the MQTT broker (docs/events.md)
    keep_unknown_faces: bool = False  # the faces recognition matches to no one (D26)
    unique_subjects: bool = False  # one subject per photo at most, unless asked (D67)
    frigate_cameras: str | None = None  # Frigate's cameras it takes: "" every one, None none


# A clone is a copy to try things on: it takes no Frigate camera (an event goes to one service,
# decisions.md D44) and sends nothing to the broker (Home Assistant would announce it, D43).
NOT_CLONED = frozenset({"mqtt_events", "frigate_cameras"})


def settings_of(service: Service) -> ServiceSettings:
    values = {field.name: getattr(service, field.name) for field in fields(ServiceSettings)}
    return ServiceSettings(**{**values, "enrolment_quality": enrolment_quality_of(service)})


def change_settings(s: Session, *, service: Service, **changes: Any) -> ServiceSettings:
    """Set the settings named (`ServiceSettings`' fields; the others keep their values), each
    checked first; returns the service's settings."""
    replace(settings_of(service), **changes)  # a name it lacks is a TypeError, before any change
    for name, value in changes.items():
        check = _CHECKS.get(name)
        setattr(service, name, value if check is None else check(s, service, value))
    s.flush()
    return settings_of(service)


def response_format_of(service: Service, *, default: ResponseFormat) -> ResponseFormat:
    """The shape the service answers in: its own choice, else the server's `default`."""
    return service.response_format or default


def _similarity_threshold(_: Session, __: Service, threshold: float | None) -> float | None:
    if threshold is not None and not 0 <= threshold <= 1:
        raise ValueError(f"similarity threshold must be from 0 to 1, not {threshold!r}")
    return threshold


def _enrolment_quality(_: Session, __: Service, limits: QualityLimits | None) -> object:
    return None if limits is None else limits.to_json()


def _keep_unknown_faces(s: Session, service: Service, keep: bool) -> bool:
    if not keep:  # turned off, what was kept is deleted (decisions.md D26)
        unknown.forget(s, service=service)
    return keep


def _frigate_cameras(_: Session, service: Service, cameras: str | None) -> str | None:
    """Names separated by commas or spaces, stored comma-separated (docs/frigate.md)."""
    if cameras is None:
        return None
    if service.type != "recognition":
        raise InvalidParameter("Only a recognition service recognises Frigate's events")
    given = [name for name in cameras.replace(",", " ").split() if name]
    if any(not _CAMERA.fullmatch(name) for name in given):
        raise InvalidParameter(
            "Frigate camera names are letters, digits, '_' and '-', separated by commas"
        )
    cameras = ",".join(dict.fromkeys(given))
    if len(cameras) > FRIGATE_CAMERAS_MAX:
        raise InvalidParameter(f"At most {FRIGATE_CAMERAS_MAX} characters of camera names")
    return cameras


def _response_format(_: Session, __: Service, response_format: str | None) -> str | None:
    if response_format is not None and response_format not in RESPONSE_FORMATS:
        raise ValueError(
            f"response format must be one of {RESPONSE_FORMATS}, not {response_format!r}"
        )
    return response_format


# Each setting's check, given the session and service for its consequences; it returns the
# value as the column stores it.
_CHECKS: dict[str, Callable[[Session, Service, Any], object]] = {
    "response_format": _response_format,
    "similarity_threshold": _similarity_threshold,
    "enrolment_quality": _enrolment_quality,
    "keep_unknown_faces": _keep_unknown_faces,
    "frigate_cameras": _frigate_cameras,
}


def frigate_services(s: Session) -> list[tuple[int, str]]:
    """The recognition services that take Frigate's person events, oldest first: (id, their
    cameras, comma-separated; "" every camera)."""
    rows = s.execute(
        select(Service.id, Service.frigate_cameras)
        .where(Service.type == "recognition", Service.frigate_cameras.is_not(None))
        .order_by(Service.id)
    )
    return [(service_id, cameras or "") for service_id, cameras in rows]


def enrolment_quality_of(service: Service) -> QualityLimits | None:
    """The service's enrolment quality limits; None when its gate is off."""
    stored = service.enrolment_quality
    return None if stored is None else QualityLimits.from_json(stored)


def services_named(
    s: Session, *, name: str, type: str, app_name: str | None = None
) -> list[Service]:
    """The services of this type called `name`, in the application `app_name` if given (names
    are unique only within an application)."""
    query = select(Service).where(Service.name == name, Service.type == type)
    if app_name is not None:
        query = query.join(Application).where(Application.name == app_name)
    return list(s.scalars(query.order_by(Service.id)))


def service_by_key(s: Session, *, api_key: str, type: str) -> Service | None:
    if not could_be_id(api_key):
        return None
    return s.scalar(select(Service).where(Service.api_key == api_key, Service.type == type))


def service_by_guid(s: Session, *, guid: str) -> Service | None:
    if not could_be_id(guid):
        return None
    return s.scalar(select(Service).where(Service.guid == guid))


def list_services(s: Session, *, app: Application | None = None) -> list[ServiceSummary]:
    subjects = (
        select(Subject.service_id, func.count().label("n")).group_by(Subject.service_id).subquery()
    )
    examples = (
        select(Subject.service_id, func.count(Example.id).label("n"))
        .join(Example, Example.subject_id == Subject.id)
        .group_by(Subject.service_id)
        .subquery()
    )
    query = (
        select(Service, func.coalesce(subjects.c.n, 0), func.coalesce(examples.c.n, 0))
        .outerjoin(subjects, subjects.c.service_id == Service.id)
        .outerjoin(examples, examples.c.service_id == Service.id)
        .order_by(Service.app_id, Service.name)
    )
    if app is not None:
        query = query.where(Service.app_id == app.id)
    return [
        ServiceSummary(service, n_subjects, n_examples)
        for service, n_subjects, n_examples in s.execute(query)
    ]


def examples_per_service(s: Session) -> list[tuple[str, str, int]]:
    """(application, service, stored examples) of every recognition service: one grouped
    query, cheap enough for every Prometheus scrape."""
    query = (
        select(Application.name, Service.name, func.count(Example.id))
        .join(Service, Service.app_id == Application.id)
        .outerjoin(Subject, Subject.service_id == Service.id)
        .outerjoin(Example, Example.subject_id == Subject.id)
        .where(Service.type == "recognition")
        .group_by(Application.name, Service.name)
        .order_by(Application.name, Service.name)
    )
    return [(app, service, count) for app, service, count in s.execute(query)]


def rename_service(s: Session, *, service: Service, name: str) -> None:
    service.name = _service_name(s, app_id=service.app_id, name=name, renaming=service)
    s.flush()


def regenerate_key(s: Session, *, service: Service) -> str:
    service.api_key = new_uuid()
    s.flush()
    return service.api_key


def delete_service(s: Session, *, service: Service) -> None:
    """Delete the service with its collection and statistics (ON DELETE CASCADE)."""
    s.execute(delete(Service).where(Service.id == service.id))
    s.expunge(service)  # every process's index notices the missing version at its next search


def clone_service(s: Session, *, service: Service, name: str) -> Service:
    """A new service of the same type and application with a copy of the whole collection."""
    clone = create_service(s, app=service.application, name=name, type=service.type)
    for field in fields(ServiceSettings):
        if field.name not in NOT_CLONED:
            setattr(clone, field.name, getattr(service, field.name))
    subjects = s.execute(
        select(Subject.id, Subject.name, Subject.name_key).where(Subject.service_id == service.id)
    ).all()
    embeddings = reads.service_embeddings(s, service_id=service.id)
    copies: dict[int, int] = {}  # subject id -> its copy's
    for subject_id, subject_name, name_key in subjects:
        copy = Subject(service_id=clone.id, name=subject_name, name_key=name_key)
        s.add(copy)
        s.flush()
        copies[subject_id] = copy.id
        rows = s.execute(
            select(Example.id, ExampleImage.data, Example.set_aside_at)
            .outerjoin(ExampleImage, ExampleImage.example_id == Example.id)
            .where(Example.subject_id == subject_id)
        ).all()
        for original, image, set_aside_at in rows:
            example_id = new_uuid()
            copied = [
                Embedding(calculator=calculator, vector=vector, service_id=clone.id)
                for calculator, vector in embeddings.get(original, {}).items()
            ]
            s.add(
                Example(
                    id=example_id,
                    subject_id=copy.id,
                    embeddings=copied,
                    set_aside_at=set_aside_at,  # what the gallery check set aside stays aside
                )
            )
            if image is not None:
                s.add(ExampleImage(example_id=example_id, data=image))
        s.flush()
    # The whole collection: its rejections too ("this is not X", decisions.md D66).
    rejections.copy(s, source=service, target=clone, subjects=copies)
    return clone


# --- request statistics -----------------------------------------------------------------------
