"""Request and response bodies of the admin API: camelCase JSON, as CompreFace's admin."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator
from pydantic.alias_generators import to_camel

from facegate import face_services
from facegate.admin import audit
from facegate.admin.mail_outbox import MailView
from facegate.admin.roles import Role
from facegate.collection.quality_gate import QualityLimits
from facegate.config import ResponseFormat
from facegate.db.tables import AuditEvent, Service, User, Webhook
from facegate.events.outbox import DeliveryView


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


# --- requests -----------------------------------------------------------------------------------


class Credentials(CamelModel):
    email: str
    password: str


class Registration(CamelModel):
    email: str
    password: str
    first_name: str
    last_name: str


class NewUser(Registration):
    role: Role = Role.USER


class Names(CamelModel):
    first_name: str
    last_name: str


class PasswordChange(CamelModel):
    old_password: str
    new_password: str


class EmailOnly(CamelModel):
    email: str


class PasswordOnly(CamelModel):
    password: str


class RoleChange(CamelModel):
    user_id: str
    role: Role


class Invitation(CamelModel):
    user_email: str
    role: Role


class NameOnly(CamelModel):
    name: str


class NewService(CamelModel):
    name: str
    type: Literal["recognition", "detection", "verification"]
    response_format: ResponseFormat | None = None


_DEFAULT_LIMITS = QualityLimits()


class EnrolmentQuality(CamelModel):
    """The enrolment quality gate's limits (decisions.md D24): a limit left out takes its
    default (docs/quality.md), a limit set to null is not checked."""

    min_eye_distance: float | None = Field(default=_DEFAULT_LIMITS.min_eye_distance, ge=0)
    min_sharpness: float | None = Field(default=_DEFAULT_LIMITS.min_sharpness, ge=0)
    min_brightness: float | None = Field(default=_DEFAULT_LIMITS.min_brightness, ge=0, le=1)
    max_brightness: float | None = Field(default=_DEFAULT_LIMITS.max_brightness, ge=0, le=1)
    max_yaw: float | None = Field(default=_DEFAULT_LIMITS.max_yaw, ge=0, le=90)
    max_pitch: float | None = Field(default=_DEFAULT_LIMITS.max_pitch, ge=0, le=90)
    min_detection: float | None = Field(default=_DEFAULT_LIMITS.min_detection, ge=0, le=1)

    def limits(self) -> QualityLimits:
        return QualityLimits(**self.model_dump())

    @classmethod
    def of(cls, limits: QualityLimits | None) -> EnrolmentQuality | None:
        return None if limits is None else cls(**limits.to_json())


class ServiceSettingsFields(CamelModel):
    """A service's own settings (`face_services.ServiceSettings`), as the admin API reads and
    writes them: `responseFormat: null` takes the server's format; `similarityThreshold: null`
    keeps every match (decisions.md D19); `enrolmentQuality: null` turns the quality gate off
    (D24); `mqttEvents` sends its events to the MQTT broker (docs/events.md);
    `keepUnknownFaces` keeps the faces recognition matches to no one (D26); `uniqueSubjects`
    gives each subject to one face of a photo at most (D67); `frigateCameras`: Frigate's cameras
    whose person events it recognises, "" every camera, null none (docs/frigate.md)."""

    response_format: ResponseFormat | None = None
    similarity_threshold: float | None = Field(default=None, ge=0, le=1)
    enrolment_quality: EnrolmentQuality | None = None
    mqtt_events: StrictBool = False
    keep_unknown_faces: StrictBool = False
    unique_subjects: StrictBool = False
    frigate_cameras: StrictStr | None = None


class ServiceSettings(ServiceSettingsFields):
    """What a service chooses for itself; a field left out keeps its value."""

    @model_validator(mode="after")
    def _names_a_field(self) -> ServiceSettings:
        # An empty body is a client's mistake (a misspelt field), not a request to change nothing.
        if not self.model_fields_set:
            named = ", ".join(to_camel(name) for name in ServiceSettingsFields.model_fields)
            raise ValueError(f"name one or more of {named}")
        return self

    def changes(self) -> dict[str, Any]:
        """The settings the body names, as `face_services.change_settings` takes them."""
        changes = {name: getattr(self, name) for name in self.model_fields_set}
        if self.enrolment_quality is not None:
            changes["enrolment_quality"] = self.enrolment_quality.limits()
        return changes


class NewWebhook(CamelModel):
    """`events`: the event types it receives (docs/events.md); empty: every type."""

    url: str
    events: list[str] = Field(default_factory=list)
    enabled: bool = True


class WebhookChange(CamelModel):
    enabled: bool


# --- responses ----------------------------------------------------------------------------------


class FalseAcceptOut(CamelModel):
    """The similarity at which `rate` of different-person pairs score as much or more, measured
    on `pairs` of them (`accepted` scored that much); null: too few pairs for the rate."""

    rate: float
    similarity: float | None
    pairs: int
    accepted: int


class FaceModelOut(CamelModel):
    """The server's model set; `inconsistent_examples` have no embedding by it (only by
    another model) and are not searched until `facegate migrate` embeds them. `examples` is
    how many there are in all, `embedded_by_model` how many each model has embedded.
    `false_accept_rates`: the threshold to give a service for each false-accept rate (empty:
    not measured for this model; docs/models.md "Similarity")."""

    name: str
    calculator: str
    licence: str
    inconsistent_examples: int
    examples: int
    embedded_by_model: dict[str, int]
    false_accept_rates: list[FalseAcceptOut]


class ConfigOut(CamelModel):
    mail_service_enabled: bool
    signup_open: bool
    face_model: FaceModelOut
    # The server's `response_format`: what services that choose none answer in.
    response_format: ResponseFormat
    # Sentences on event sinks that cannot deliver (facegate.events.health); empty: none.
    event_problems: list[str]


class UserOut(CamelModel):
    user_id: str
    email: str
    first_name: str
    last_name: str
    global_role: Role

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            user_id=user.guid,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            global_role=Role(user.global_role),
        )


class RegistrationOut(CamelModel):
    user: UserOut
    confirmation_required: bool


class UserRoleOut(CamelModel):
    """A user with one role: the global role in user lists, the app role in member lists."""

    user_id: str
    email: str
    first_name: str
    last_name: str
    role: Role

    @classmethod
    def of(cls, user: User, role: Role | str) -> UserRoleOut:
        return cls(
            user_id=user.guid,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            role=Role(role),
        )


class OwnerOut(CamelModel):
    user_id: str
    first_name: str
    last_name: str


class AppOut(CamelModel):
    id: str
    name: str
    role: Role | None
    owner: OwnerOut | None
    can_manage: bool
    can_edit_services: bool


class ServiceOut(ServiceSettingsFields):
    id: str
    name: str
    type: str
    api_key: str
    created_date: datetime
    subject_count: int
    image_count: int

    @classmethod
    def of(cls, service: Service, counts: tuple[int, int] = (0, 0)) -> ServiceOut:
        return cls(
            id=service.guid,
            name=service.name,
            type=service.type,
            api_key=service.api_key,
            created_date=service.created_at,
            subject_count=counts[0],
            image_count=counts[1],
            **asdict(face_services.settings_of(service)),
        )


class DayCount(CamelModel):
    created_date: date
    request_count: int


class WebhookOut(CamelModel):
    id: str
    url: str
    events: list[str]
    enabled: bool
    created_date: datetime

    @classmethod
    def of(cls, hook: Webhook) -> WebhookOut:
        return cls(
            id=hook.guid,
            url=hook.url,
            events=hook.event_types.split(),
            enabled=hook.enabled,
            created_date=hook.created_at,
        )


class NewWebhookOut(WebhookOut):
    """The answer to its creation, the one time the secret is shown."""

    secret: str

    @classmethod
    def created(cls, hook: Webhook) -> NewWebhookOut:
        return cls(**WebhookOut.of(hook).model_dump(), secret=hook.secret)


class DeliveryOut(CamelModel):
    """One event to one sink, with its last attempt; `nextAttemptAt` while it is pending."""

    id: int
    event_id: str
    type: str
    sink: Literal["webhook", "mqtt"]
    webhook_id: str | None
    url: str | None
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    status_code: int | None
    error: str | None
    next_attempt_at: datetime | None
    created_date: datetime
    updated_date: datetime

    @classmethod
    def of(cls, view: DeliveryView) -> DeliveryOut:
        return cls.model_validate(
            {
                **{k: v for k, v in vars(view).items() if k not in ("created_at", "updated_at")},
                "created_date": view.created_at,
                "updated_date": view.updated_at,
            }
        )


class AuditEntryOut(CamelModel):
    """One entry of the audit trail (docs/admin-api.md, "Audit trail")."""

    id: int
    time: datetime
    action: str
    actor_id: str | None
    actor: str | None
    address: str | None
    target: str | None
    detail: dict[str, Any] | None

    @classmethod
    def of(cls, entry: AuditEvent) -> AuditEntryOut:
        return cls.model_validate(audit.as_dict(entry))


class AuditPageOut(CamelModel):
    items: list[AuditEntryOut]
    page: int
    size: int
    total: int


class MailOut(CamelModel):
    """One account e-mail of the outbox, without its text (it holds a link's token)."""

    id: int
    kind: str
    recipient: str
    state: Literal["pending", "sent", "failed", "skipped"]
    attempts: int
    error: str | None
    next_attempt_at: datetime | None
    created_date: datetime
    updated_date: datetime

    @classmethod
    def of(cls, view: MailView) -> MailOut:
        return cls.model_validate(
            {
                **{k: v for k, v in vars(view).items() if k not in ("created_at", "updated_at")},
                "created_date": view.created_at,
                "updated_date": view.updated_at,
            }
        )


class FrigateOut(CamelModel):
    """The Frigate companion for one service: `configured` false when the server has no
    `frigate_url`; `cameras` those whose person events the service takes ("" every camera,
    null none); `byEnvironment` when they are `frigate_cameras` (the service of
    `frigate_service_key`); the links' states when this process runs the companion."""

    configured: bool
    url: str | None = None
    cameras: str | None = None
    by_environment: bool = False
    mqtt: str | None = None
    frigate: str | None = None
    api: str | None = None
    events: int | None = None
    last_event: str | None = None

    @classmethod
    def of(
        cls, *, url: str, cameras: str | None, by_environment: bool, health: dict[str, Any] | None
    ) -> FrigateOut:
        links = health or {}
        return cls(
            configured=True,
            url=url,
            cameras=cameras,
            by_environment=by_environment,
            mqtt=links.get("mqtt"),
            frigate=links.get("frigate"),
            api=links.get("api"),
            events=links.get("events"),
            last_event=links.get("last_event"),
        )
