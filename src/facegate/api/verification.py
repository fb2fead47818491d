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
from facegate.engine.similarity import normalize
from facegate.errors import TooManyFaces
from facegate.inference import embeddings

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
    shape = face_services.response_format_of(service, default=settings.response_format)
    source_image = body.image("source_image", "sourceImageBase64")
    target_image = body.image("target_image", "targetImageBase64")
    source = inference.faces(source_image, query, limit=2)
    if len(source.faces) > 1:
        raise TooManyFaces()
    target = inference.faces(target_image, query)
    reference = normalize(embeddings(source.faces))[0]
    scores = inference.scale.similarities(reference, normalize(embeddings(target.faces)))
    matches = [
        render.face(face, query, shape, round_box=True) | {"similarity": render.round5(score)}
        for face, score in zip(target.faces, scores, strict=True)
    ]
    item = {
        "source_image_face": render.face(source.faces[0], query, shape, round_box=True),
        "face_matches": matches,
    }
    if not body.params.dry_run():
        # Counted last: the upsert locks the day's row until commit, so not during inference.
        face_services.count_request(session, service=service)
    # Here plugins_versions sits inside the single result element (VerifyFacesResponse).
    return {"result": [render.with_versions(item, target, query)]}


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
    scores = inference.scale.similarities(normalize([source])[0], normalize(targets))
    return {"result": render.scored_embeddings(targets, scores)}
