"""Verification service: is the face in one image the face in another (decisions.md C1.7)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from facegate import face_services
from facegate.api import openapi as doc
from facegate.api import render, schemas
from facegate.api.deps import (
    BodyDep,
    InferenceDep,
    SessionDep,
    SettingsDep,
    VerificationService,
)
from facegate.api.params import embedding_value, embeddings_field, require_size
from facegate.collection import verification
from facegate.engine.similarity import round5

router = APIRouter(prefix="/verification", tags=["verification"])


@router.post(
    "/verify",
    **doc.operation(
        schemas.Verification,
        params=(*doc.FACE_QUERY, doc.DRY_RUN),
        body=doc.image_body("source_image", "target_image"),
        refusals=(*doc.KEYED, doc.BAD_JSON, doc.BAD_PARAMETER, *doc.IMAGE, doc.ONE_FACE),
    ),
)
def verify(
    service: VerificationService,
    body: BodyDep,
    session: SessionDep,
    inference: InferenceDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    query = body.params.face_query()
    source = body.image("source_image", "sourceImageBase64")
    target = body.image("target_image", "targetImageBase64")
    found = verification.photos(
        session,
        inference,
        service,
        source,
        target,
        query=query,
        dry_run=body.params.dry_run(),
    )
    shape = face_services.response_format_of(service, default=settings.response_format)
    matches = [
        render.face(face, query, shape, round_box=True) | {"similarity": round5(score)}
        for face, score in zip(found.target.faces, found.scores, strict=True)
    ]
    item = {
        "source_image_face": render.face(found.source.faces[0], query, shape, round_box=True),
        "face_matches": matches,
    }
    # Here plugins_versions sits inside the single result element (VerifyFacesResponse).
    return {"result": [render.with_versions(item, found.target, query)]}


@router.post(
    "/embeddings/verify",
    **doc.operation(
        schemas.EmbeddingsVerificationResult,
        body=doc.json_body(schemas.EmbeddingsVerification),
        refusals=(*doc.KEYED, doc.BAD_JSON, *doc.EMBEDDINGS),
    ),
)
def verify_embeddings(
    service: VerificationService, body: BodyDep, inference: InferenceDep
) -> dict[str, Any]:
    payload = body.json if isinstance(body.json, dict) else {}
    source = embedding_value(payload.get("source"), "source")
    # Of the model's length: its similarity scale is fitted to its own embeddings.
    targets = embeddings_field(payload, "targets", size=inference.dimensions)
    require_size([source], inference.dimensions)
    scores = verification.similarities(inference.scale, source, targets)
    return {"result": render.scored_embeddings(targets, scores)}
