"""A service's webhooks: where its events are POSTed, and the secret that signs them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.db.tables import Service, Webhook, could_be_id
from facegate.errors import InvalidWebhook, WebhookNotFound
from facegate.events.outbox import TYPES

MAX_URL_LENGTH = 2048


def _valid_url(url: str) -> str:
    refusal = InvalidWebhook(f"A webhook needs an http:// or https:// URL, not {url[:100]!r}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (urlsplit checks the port only when it is read)
    except ValueError:
        raise refusal from None
    if len(url) > MAX_URL_LENGTH or parts.scheme not in ("http", "https") or not parts.hostname:
        raise refusal
    return url


def _valid_types(types: Sequence[str]) -> str:
    unknown = sorted(set(types) - set(TYPES))
    if unknown:
        raise InvalidWebhook(f"Unknown event types {unknown}; known: {list(TYPES)}")
    return " ".join(sorted(set(types), key=TYPES.index))


def add(
    s: Session, *, service: Service, url: str, event_types: Sequence[str], enabled: bool
) -> Webhook:
    """A new webhook with a fresh secret (shown to its creator once, in the answer)."""
    hook = Webhook(
        service_id=service.id,
        url=_valid_url(url),
        secret=secrets.token_hex(32),
        event_types=_valid_types(event_types),
        enabled=enabled,
    )
    s.add(hook)
    s.flush()
    return hook


def of_service(s: Session, *, service: Service) -> list[Webhook]:
    return list(
        s.scalars(select(Webhook).where(Webhook.service_id == service.id).order_by(Webhook.id))
    )


def get(s: Session, *, service: Service, guid: str) -> Webhook:
    """The service's webhook with this id, or WebhookNotFound (404)."""
    hook = (
        s.scalar(select(Webhook).where(Webhook.service_id == service.id, Webhook.guid == guid))
        if could_be_id(guid)
        else None
    )
    if hook is None:
        raise WebhookNotFound(guid)
    return hook


def set_enabled(s: Session, *, hook: Webhook, enabled: bool) -> None:
    """A disabled webhook is given no new events; those already waiting wait until it is
    enabled again (or deleted with it)."""
    hook.enabled = enabled
    s.flush()


def delete(s: Session, *, hook: Webhook) -> None:
    """Delete the webhook with its deliveries, those still waiting too (ON DELETE CASCADE)."""
    s.delete(hook)
    s.flush()
