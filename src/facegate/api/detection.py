"""Detection: where the faces are, with optional plugin attributes (decisions.md C1.6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from facegate import face_services
from facegate.api import openapi as doc
from facegate.api import render, schemas
from facegate.api.deps import BodyDep, DetectionService, InferenceDep, SessionDep, SettingsDep
from facegate.collection import statistics

router = APIRouter(prefix="/detection", tags=["detection"])


@router.post(
    "/detect",
    **doc.operation(
        schemas.Detection,
        params=(*doc.FACE_QUERY, doc.DRY_RUN),
        body=doc.image_body("file"),
        refusals=(*doc.KEYED, doc.BAD_JSON, doc.BAD_PARAMETER, *doc.IMAGE),
    ),
)
def detect(
    service: DetectionService,
    body: BodyDep,
    session: SessionDep,
    inference: InferenceDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    query = body.params.face_query()
    shape = face_services.response_format_of(service, default=settings.response_format)
    # The calculator runs only when asked for here (CompreFace does not force it on detect).
    analysis = inference.faces(body.image(), query, embed=False)
    if not body.params.dry_run():
        # Counted last: the upsert locks the day's row until commit, so not during inference.
        statistics.count_request(session, service=service)
    return render.detection_body(analysis, query, shape)
