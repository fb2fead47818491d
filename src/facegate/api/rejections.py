""" "This face is not X": rejections recorded from recognition results, listed and undone
(facegate extensions, decisions.md D66, docs/api.md "Rejections")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from facegate.api import openapi as doc
from facegate.api import schemas
from facegate.api.deps import BodyDep, InferenceDep, RecognitionService, SessionDep
from facegate.api.params import embedding_value, require_size, subject_name
from facegate.collection import rejections
from facegate.errors import RejectionNotFound

router = APIRouter(prefix="/recognition/rejections", tags=["rejections"])

UNKNOWN_REJECTION = doc.Refusal(RejectionNotFound, "no rejection with this id")


def _out(rejected: rejections.Rejected) -> dict[str, Any]:
    return {
        "id": rejected.id,
        "subject": rejected.subject,
        "model": rejected.calculator,
        "created": rejected.created_at.isoformat(),
    }


@router.post(
    "",
    **doc.operation(
        schemas.Rejection,
        status=201,
        body=doc.json_body(schemas.RejectionQuery),
        refusals=(
            *doc.KEYED,
            doc.BAD_JSON,
            *doc.SUBJECT_NAME,
            doc.UNKNOWN_SUBJECT,
            *doc.EMBEDDINGS,
        ),
    ),
)
def add(
    service: RecognitionService, body: BodyDep, session: SessionDep, inference: InferenceDep
) -> dict[str, Any]:
    """Recognition stops answering `subject` for faces near this one (docs/api.md)."""
    subject = subject_name(body.json)
    embedding = embedding_value(
        body.json.get("embedding") if isinstance(body.json, dict) else None, "embedding"
    )
    require_size([embedding], inference.dimensions)
    rejected = rejections.add(
        session,
        service=service,
        subject=subject,
        embedding=embedding,
        calculator=inference.calculator_id,
    )
    return _out(rejected)


@router.get("", **doc.operation(schemas.Rejections, refusals=doc.KEYED))
def list_all(service: RecognitionService, session: SessionDep) -> dict[str, Any]:
    return {"rejections": [_out(r) for r in rejections.list_rejections(session, service=service)]}


@router.delete(
    "/{rejection_id}",
    **doc.operation(schemas.Rejection, refusals=(*doc.KEYED, UNKNOWN_REJECTION)),
)
def undo(rejection_id: str, service: RecognitionService, session: SessionDep) -> dict[str, Any]:
    """The subject is answered again for the faces near the rejected one."""
    return _out(rejections.delete_rejection(session, service=service, rejection_id=rejection_id))
