"""ORM tables. CompreFace's "model" is a face service here; its "embedding" is an example."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from facegate.config import ResponseFormat


def new_uuid() -> str:
    return str(uuid.uuid4())


def could_be_id(text: str) -> bool:
    """Whether `text` could be one of the ids `new_uuid` makes (keys, guids, example ids).

    A client's text that cannot is unknown without asking the database, which could not even be
    asked the same way on both: PostgreSQL refuses NUL in text, and neither driver encodes a lone
    surrogate (issue 13)."""
    return len(text) <= 36 and text.isascii() and text.isprintable()


def utcnow() -> datetime:
    """The one clock of every stored time."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database: SQLite keeps no zone and hands back
    naive values, which are UTC because only `utcnow()` writes them."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    # One global OWNER at most, enforced by the database so that two first sign-ups racing each
    # other cannot both win (the loser stays a USER, facegate.admin.accounts). Partial unique index:
    # the same SQL on SQLite and PostgreSQL.
    __table_args__ = (
        Index(
            "uq_users_one_owner",
            "global_role",
            unique=True,
            sqlite_where=text("global_role = 'OWNER'"),
            postgresql_where=text("global_role = 'OWNER'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    global_role: Mapped[str] = mapped_column(String(16))  # OWNER | ADMINISTRATOR | USER
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)  # false until email confirmed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    memberships: Mapped[list[AppMember]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class Application(Base):
    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    members: Mapped[list[AppMember]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )
    services: Mapped[list[Service]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )


class AppMember(Base):
    __tablename__ = "app_members"

    app_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16))  # OWNER | ADMINISTRATOR | USER

    application: Mapped[Application] = relationship(back_populates="members")
    user: Mapped[User] = relationship(back_populates="memberships")


class Service(Base):
    """A face service (CompreFace: model) of one type, with its own API key."""

    __tablename__ = "services"
    __table_args__ = (Index("uq_services_app_name", "app_id", "name", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    app_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))  # recognition | detection | verification
    api_key: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    # Bumped by every write to the collection, so other processes know their index is stale.
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # `seed` | `compreface-1.2`; NULL: the server's `response_format` (decisions.md D1).
    response_format: Mapped[ResponseFormat | None] = mapped_column(String(16), default=None)
    # Recognition leaves out matches below it (decisions.md D19); NULL: none left out.
    similarity_threshold: Mapped[float | None] = mapped_column(Float, default=None)
    # The enrolment quality gate's limits by name (decisions.md D24); NULL: the gate is off.
    enrolment_quality: Mapped[dict[str, float | None] | None] = mapped_column(JSON, default=None)
    # Whether its events are published to the MQTT broker of the settings (docs/events.md).
    mqtt_events: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Recognition keeps the faces it matches to no one, clustered (decisions.md D26).
    keep_unknown_faces: Mapped[bool] = mapped_column(Boolean, default=False)
    # The Frigate cameras whose person events it recognises, comma-separated; "": every camera;
    # NULL: none (decisions.md D44, docs/frigate.md).
    frigate_cameras: Mapped[str | None] = mapped_column(String(500), default=None)
    # Recognition gives each subject to one face of a photo at most (decisions.md D67).
    unique_subjects: Mapped[bool] = mapped_column(Boolean, default=False)

    application: Mapped[Application] = relationship(back_populates="services")
    subjects: Mapped[list[Subject]] = relationship(
        back_populates="service", cascade="all, delete-orphan", passive_deletes=True
    )


class Subject(Base):
    __tablename__ = "subjects"
    # CompreFace compares subject names case-insensitively. The folded name is computed in Python
    # so SQLite (whose lower() knows only ASCII) and PostgreSQL agree on what "the same" means.
    __table_args__ = (Index("uq_subjects_service_key", "service_id", "name_key", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    # Names added through POST /faces are not limited to 50 characters (CompreFace: varchar(255)).
    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str] = mapped_column(String(255))

    service: Mapped[Service] = relationship(back_populates="subjects")
    examples: Mapped[list[Example]] = relationship(
        back_populates="subject", cascade="all, delete-orphan", passive_deletes=True
    )


class Example(Base):
    """One stored face of a subject; its id is the `image_id` clients see."""

    __tablename__ = "examples"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("subjects.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # SHA-256 (hex) of the photo's bytes, so a bulk import run again skips it (decisions.md D22).
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    # Set aside by the gallery check: kept, but searched by no one until restored (D65).
    set_aside_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    subject: Mapped[Subject] = relationship(back_populates="examples")
    # Written with the example; deleted by the database's ON DELETE CASCADE, never loaded here.
    embeddings: Mapped[list[Embedding]] = relationship(passive_deletes=True, lazy="raise")


class Embedding(Base):
    """One model's embedding of an example. An example holds one per model that embedded it, so
    servers on the old and the new model both answer while `facegate migrate` runs
    (decisions.md D29)."""

    __tablename__ = "embeddings"
    __table_args__ = (Index("ix_embeddings_service_calculator", "service_id", "calculator"),)

    example_id: Mapped[str] = mapped_column(
        ForeignKey("examples.id", ondelete="CASCADE"), primary_key=True
    )
    calculator: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32 little-endian, L2-normalised
    # The example's service (its subject's, which never changes: a merge stays in the service),
    # so a search filters one table (the pgvector backend, decisions.md D32).
    service_id: Mapped[int] = mapped_column(Integer)


class RunningServer(Base):
    """A server process and the model it searches with, refreshed while it runs, so that
    `facegate models retire` keeps the embeddings a running server still uses."""

    __tablename__ = "running_servers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    process: Mapped[str] = mapped_column(String(128))  # host:pid (one may run several apps)
    calculator: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CollectionChange(Base):
    """One write to a collection, under the service version it made: the durable, ordered
    record that other processes apply to their in-memory index instead of reloading it
    (decisions.md D28). Pruned to the last KEPT_CHANGES of each service (collection.changes)."""

    __tablename__ = "collection_changes"

    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))  # collection.changes.Kind
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class ExampleImage(Base):
    """The original photo of an example, kept apart so loading embeddings stays cheap."""

    __tablename__ = "example_images"

    example_id: Mapped[str] = mapped_column(
        ForeignKey("examples.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)


class UnknownCluster(Base):
    """A group of kept unknown faces that look like one person (facegate.collection.unknown)."""

    __tablename__ = "unknown_clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    calculator: Mapped[str] = mapped_column(String(64))  # its faces' model id
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class UnknownFace(Base):
    """A face recognition matched to no one, kept with a small chip until named, dismissed,
    or pruned by the caps (decisions.md D26)."""

    __tablename__ = "unknown_faces"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("unknown_clusters.id", ondelete="CASCADE"), index=True
    )
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32, L2-normalised
    calculator: Mapped[str] = mapped_column(String(64))
    chip: Mapped[bytes] = mapped_column(LargeBinary)  # JPEG of the face's box
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    # The client address the photo came from: all that is kept of the request.
    source: Mapped[str | None] = mapped_column(String(64), default=None)


class Rejection(Base):
    """ "This face is not that subject": recognition does not answer the subject for faces near
    the embedding (facegate.collection.rejections, decisions.md D66)."""

    __tablename__ = "rejections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    subject_id: Mapped[int] = mapped_column(
        ForeignKey("subjects.id", ondelete="CASCADE"), index=True
    )
    calculator: Mapped[str] = mapped_column(String(64))  # the embedding's model id
    embedding: Mapped[bytes] = mapped_column(LargeBinary)  # float32, L2-normalised
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RequestStat(Base):
    """Per-service, per-day count of recognize / detect / verify requests."""

    __tablename__ = "request_stats"

    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


# --- accounts: login sessions, e-mailed tokens, failed-login counters (facegate.admin) ----------


class LoginSession(Base):
    """A web UI login; the cookie carries the token, the table only its SHA-256."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class AccountToken(Base):
    """A single-use token sent by e-mail: `confirm` (new account) or `reset` (password)."""

    __tablename__ = "account_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)


class LoginFailure(Base):
    """Consecutive failed logins of one account (`account:<email>`) or address (`address:<ip>`)."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ServerFlag(Base):
    """A named state shared by every server process, e.g. `migration` while /migrate runs."""

    __tablename__ = "server_flags"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Refreshed while the holder works, so a flag left by a crashed process goes stale.
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # "<host>:<pid>" of the process holding it (None in flags written before migration 0005).
    holder: Mapped[str | None] = mapped_column(String(128), default=None)


class IdempotentRequest(Base):
    """A write sent with an `Idempotency-Key`: held while it runs, then its answer, replayed to
    retries with the same key until it expires (facegate.collection.idempotency)."""

    __tablename__ = "idempotent_requests"

    # SHA-256 of the x-api-key the write came with: keys are per service, and no copy of the
    # service's secret is kept here.
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # SHA-256 of method, path and query string: the same key for another request is refused.
    request: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    # "<host>:<pid>" of the process running the write; None once its answer is stored.
    holder: Mapped[str | None] = mapped_column(String(128), default=None)
    status: Mapped[int | None] = mapped_column(Integer, default=None)
    content_type: Mapped[str | None] = mapped_column(String(255), default=None)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


# --- events: webhooks and the outbox of deliveries (facegate.events, docs/events.md) -----------


class Webhook(Base):
    """A receiver of one service's events; the secret signs every body sent to it."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(64))
    # Space-separated event types it receives; empty: every type.
    event_types: Mapped[str] = mapped_column(String(255), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OutboxEvent(Base):
    """An event, written in the transaction of the write (or recognition) that caused it."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    guid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)  # the JSON every sink sends, byte for byte
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Delivery(Base):
    """One event to one sink (a webhook, or the service's MQTT topics). Deliveries of one lane
    go out in id order, one at a time (facegate.events.worker)."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_pending", "state", "lane", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_events.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    webhook_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True, default=None
    )
    # `hook:<webhook id>` or `mqtt:<service id>`: the order kept is the lane's.
    lane: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # "<host>:<pid>" of the worker sending it, until `claimed_until` (then another may).
    claimed_by: Mapped[str | None] = mapped_column(String(128), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


# --- accounts, continued: guards, the mail outbox, the audit trail (facegate.admin) ------------


class Guard(Base):
    """A row a transaction updates first to serialise a check-then-write with every other
    process (facegate.db.session.serialise): `accounts`, `app:<id>`."""

    __tablename__ = "guards"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OutgoingMail(Base):
    """An e-mail written in the transaction of the request that asked for it, sent by the mail
    worker (facegate.admin.outbox); its text is blanked once it is sent or given up on, since
    it holds a link's token."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # confirmation | reset
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Held until the lease runs out, as a delivery's (facegate.db.leases).
    claimed_by: Mapped[str | None] = mapped_column(String(128), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    # A mail still unsent then is given up on: its link has expired.
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AuditEvent(Base):
    """One security-relevant action: who, when, from where, on what (facegate.admin.audit)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    # Kept as text, not a foreign key: the trail outlives the accounts it names.
    actor_id: Mapped[str | None] = mapped_column(String(36), default=None)
    actor: Mapped[str | None] = mapped_column(String(254), default=None)
    address: Mapped[str | None] = mapped_column(String(64), default=None)
    target: Mapped[str | None] = mapped_column(String(300), default=None)
    detail: Mapped[str | None] = mapped_column(Text, default=None)  # JSON object
