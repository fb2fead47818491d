"""The audit trail and the mail outbox, read by global owners and administrators."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from facegate.admin import audit, mail_outbox
from facegate.api.admin.deps import SessionMakerDep, server_administrator
from facegate.api.admin.schemas import AuditEntryOut, AuditPageOut, MailOut
from facegate.api.deps import SessionDep

router = APIRouter(tags=["admin: audit"], dependencies=[Depends(server_administrator)])

MEDIA = {"jsonl": "application/jsonl", "csv": "text/csv; charset=utf-8"}


@router.get("/audit")
def audit_trail(
    session: SessionDep,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: Annotated[int, Query(ge=0)] = 0,
    size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPageOut:
    """The trail, newest first, a page at a time; `action` also matches its sub-actions
    (`login` finds `login.failed`), `since` and `until` bound the time (ISO 8601)."""
    entries, total = audit.page(
        session, action=action, since=since, until=until, page=page, size=size
    )
    items = [AuditEntryOut.of(entry) for entry in entries]
    return AuditPageOut(items=items, page=page, size=size, total=total)


@router.get("/audit/export", response_class=StreamingResponse)
def export_audit_trail(
    sessions: SessionMakerDep,
    format: Literal["jsonl", "csv"] = "jsonl",
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StreamingResponse:
    """Every matching entry, oldest first, as JSON Lines or CSV, streamed."""
    lines = _lines(sessions, format=format, action=action, since=since, until=until)
    name = f"facegate-audit.{format}"
    return StreamingResponse(
        lines,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _lines(
    sessions: sessionmaker[Session],
    *,
    format: str,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Iterator[str]:
    # A session of its own: the request's ends before the body is streamed.
    with sessions() as s:
        yield from audit.export(s, format=format, action=action, since=since, until=until)


@router.get("/mail")
def mail(
    session: SessionDep,
    state: Literal["pending", "sent", "failed", "skipped"] | None = None,
) -> list[MailOut]:
    """The latest 50 account e-mails, newest first, with what sending them answered."""
    return [MailOut.of(view) for view in mail_outbox.recent(session, state=state)]
