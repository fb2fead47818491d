"""Retries without duplicates: a write sent with an `Idempotency-Key` runs once per key and
service; a retry gets the first answer again (docs/api.md, decisions.md D14)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from facegate.collection.flags import holder_died
from facegate.db.leases import holder
from facegate.db.session import bulk_write
from facegate.db.tables import IdempotentRequest, utcnow
from facegate.errors import IdempotencyKeyInFlight, IdempotencyKeyReused

# A write still held after this long belongs to a process on another host that stopped
# without answering (one of this host is noticed at once): a retry may run it again.
ABANDONED_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Answer:
    """What the first request with a key answered."""

    status: int
    content_type: str
    body: bytes


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def claim(s: Session, *, scope: str, key: str, request: str, ttl: timedelta) -> Answer | None:
    """Hold `key` for this process and return None (the write runs), or return the stored
    answer. A write still running under the key: IdempotencyKeyInFlight; the key first used for
    another `request`: IdempotencyKeyReused. A second process claiming at once fails on the
    primary key at flush (the caller answers it as in flight)."""
    row = s.get(IdempotentRequest, (scope, key))
    if row is not None:
        age = utcnow() - row.created_at
        abandoned = row.holder is not None and (holder_died(row.holder) or age >= ABANDONED_AFTER)
        if age < ttl and not abandoned:
            if row.request != request:
                raise IdempotencyKeyReused
            if row.holder is not None or row.status is None:
                raise IdempotencyKeyInFlight
            return Answer(row.status, row.content_type or "", row.body or b"")
        s.delete(row)
        s.flush()
    s.add(IdempotentRequest(scope=scope, key=key, request=request, holder=holder()))
    s.flush()
    return None


def store(s: Session, *, scope: str, key: str, answer: Answer) -> None:
    """Keep the answer of the write that held `key`, for its retries."""
    s.execute(
        update(IdempotentRequest)
        .where(IdempotentRequest.scope == scope, IdempotentRequest.key == key)
        .values(
            holder=None, status=answer.status, content_type=answer.content_type, body=answer.body
        )
    )


def release(s: Session, *, scope: str, key: str) -> None:
    """Forget a write that failed: it changed nothing, so a retry may run it again."""
    s.execute(
        delete(IdempotentRequest).where(
            IdempotentRequest.scope == scope,
            IdempotentRequest.key == key,
            IdempotentRequest.holder.is_not(None),
        )
    )


def purge(s: Session, *, ttl: timedelta) -> int:
    """Delete the keys older than `ttl`; returns how many."""
    return bulk_write(
        s, delete(IdempotentRequest).where(IdempotentRequest.created_at < utcnow() - ttl)
    )
