"""Data access for face services: the applications that group them, their keys, request counts.

Plain functions taking a Session first and keyword-only arguments, like
`facegate.collection.store` (which holds each service's face collection); the caller owns the
transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

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
from facegate.errors import InvalidParameter, NameNotUnique

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
    if s.scalar(select(Application.id).where(Application.name == name)) is not None:
        raise NameNotUnique(name)
    application = Application(name=name)
    s.add(application)
    flush_unique(s, NameNotUnique(name))  # the same name created at the same moment
    return application


def find_application(s: Session, *, name: str) -> Application | None:
    return s.scalar(select(Application).where(Application.name == name))


def default_application(s: Session) -> Application:
    """The application services go to when none is named; created on first use."""
    return find_application(s, name=DEFAULT_APPLICATION) or create_application(
        s, name=DEFAULT_APPLICATION
    )


# --- services ---------------------------------------------------------------------------------


def check_service_name(s: Session, *, app_id: int, name: str, other_than: int | None) -> None:
    """The one rule for service names: unique in their application, ignoring case (as
    CompreFace's admin). `other_than`: the id of the service being renamed, which may keep its
    own name."""
    clash = select(Service.id).where(
        Service.app_id == app_id, func.lower(Service.name) == name.lower()
    )
    if other_than is not None:
        clash = clash.where(Service.id != other_than)
    if s.scalar(clash) is not None:
        raise NameNotUnique(name)


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
    check_service_name(s, app_id=app.id, name=name, other_than=None)
    _check_response_format(response_format)
    service = Service(
        app_id=app.id, name=name, type=type, version=0, response_format=response_format
    )
    s.add(service)
    s.flush()
    return service


def set_response_format(
    s: Session, *, service: Service, response_format: ResponseFormat | None
) -> None:
    """The plugin output shape of the service's answers; None: the server's setting."""
    _check_response_format(response_format)
    service.response_format = response_format
    s.flush()


def response_format_of(service: Service, *, default: ResponseFormat) -> ResponseFormat:
    """The shape the service answers in: its own choice, else the server's `default`."""
    return service.response_format or default


def set_similarity_threshold(s: Session, *, service: Service, threshold: float | None) -> None:
    """The similarity under which recognition leaves a match out; None: every match is kept."""
    if threshold is not None and not 0 <= threshold <= 1:
        raise ValueError(f"similarity threshold must be from 0 to 1, not {threshold!r}")
    service.similarity_threshold = threshold
    s.flush()


def set_keep_unknown_faces(s: Session, *, service: Service, keep: bool) -> None:
    """Whether recognition keeps the faces it matches to no one (decisions.md D26); turned
    off, what was kept is deleted."""
    if not keep:
        unknown.forget(s, service=service)
    service.keep_unknown_faces = keep
    s.flush()


def set_unique_subjects(s: Session, *, service: Service, unique: bool) -> None:
    """Whether recognition gives each subject to one face of a photo at most, unless a request
    says otherwise (`unique_subjects`, decisions.md D67)."""
    service.unique_subjects = unique
    s.flush()


def frigate_services(s: Session) -> list[tuple[int, str]]:
    """The recognition services that take Frigate's person events, oldest first: (id, their
    cameras, comma-separated; "" every camera)."""
    rows = s.execute(
        select(Service.id, Service.frigate_cameras)
        .where(Service.type == "recognition", Service.frigate_cameras.is_not(None))
        .order_by(Service.id)
    )
    return [(service_id, cameras or "") for service_id, cameras in rows]


def set_frigate_cameras(s: Session, *, service: Service, cameras: str | None) -> None:
    """The Frigate cameras whose person events the service recognises (docs/frigate.md): names
    separated by commas or spaces, stored comma-separated; "" every camera; None none."""
    if cameras is not None and service.type != "recognition":
        raise InvalidParameter("Only a recognition service recognises Frigate's events")
    if cameras is not None:
        names = [name for name in cameras.replace(",", " ").split() if name]
        if any(not _CAMERA.fullmatch(name) for name in names):
            raise InvalidParameter(
                "Frigate camera names are letters, digits, '_' and '-', separated by commas"
            )
        cameras = ",".join(dict.fromkeys(names))
        if len(cameras) > FRIGATE_CAMERAS_MAX:
            raise InvalidParameter(f"At most {FRIGATE_CAMERAS_MAX} characters of camera names")
    service.frigate_cameras = cameras
    s.flush()


def set_enrolment_quality(s: Session, *, service: Service, limits: QualityLimits | None) -> None:
    """The limits a new example's face must meet; None turns the quality gate off."""
    service.enrolment_quality = None if limits is None else limits.to_json()
    s.flush()


def enrolment_quality_of(service: Service) -> QualityLimits | None:
    """The service's enrolment quality limits; None when its gate is off."""
    stored = service.enrolment_quality
    return None if stored is None else QualityLimits.from_json(stored)


def _check_response_format(response_format: str | None) -> None:
    if response_format is not None and response_format not in RESPONSE_FORMATS:
        raise ValueError(
            f"response format must be one of {RESPONSE_FORMATS}, not {response_format!r}"
        )


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
    if name != service.name:
        check_service_name(s, app_id=service.app_id, name=name, other_than=service.id)
        service.name = name
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
    clone = create_service(
        s,
        app=service.application,
        name=name,
        type=service.type,
        response_format=service.response_format,
    )
    clone.similarity_threshold = service.similarity_threshold
    clone.enrolment_quality = service.enrolment_quality
    clone.keep_unknown_faces = service.keep_unknown_faces
    clone.unique_subjects = service.unique_subjects
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
