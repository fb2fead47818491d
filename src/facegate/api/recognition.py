"""Recognition: who is in this photo, or whose is this embedding (decisions.md C1.4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from facegate import face_services
from facegate.api import openapi as doc
from facegate.api import render, schemas
from facegate.api.deps import (
    Body,
    BodyDep,
    ClientAddress,
    InferenceDep,
    RecognitionsDep,
    RecognitionService,
    SessionDep,
    SettingsDep,
)
from facegate.api.params import embeddings_field
from facegate.collection.recognition import Matching
from facegate.db.tables import Service

router = APIRouter(prefix="/recognition", tags=["recognition"])


@router.post(
    "/recognize",
    **doc.operation(
        schemas.Recognition,
        params=(
            *doc.FACE_QUERY,
            doc.PREDICTION_COUNT,
            doc.DETECT_FACES,
            *doc.MATCHING,
            doc.UNIQUE_SUBJECTS,
            doc.DRY_RUN,
        ),
        body=doc.image_body("file"),
        refusals=(*doc.KEYED, doc.BAD_JSON, doc.BAD_PARAMETER, *doc.IMAGE),
    ),
)
def recognize(
    service: RecognitionService,
    body: BodyDep,
    session: SessionDep,
    recognitions: RecognitionsDep,
    settings: SettingsDep,
    source: ClientAddress,
) -> dict[str, Any]:
    query = body.params.face_query()
    recognition = recognitions.photo(
        session,
        service,
        body.image(),
        query=query,
        matching=matching(service, body, unique=body.params.unique_subjects()),
        detect=body.params.boolean("detect_faces", True),
        source=source,
        dry_run=body.params.dry_run(),
    )
    shape = face_services.response_format_of(service, default=settings.response_format)
    result = [
        render.face(one.face, query, shape, round_box=True)
        | {"subjects": render.matches(one.matches)}
        for one in recognition.faces
    ]
    return render.with_versions({"result": result}, recognition.analysis, query)


@router.post(
    "/embeddings/recognize",
    **doc.operation(
        schemas.EmbeddingsRecognition,
        params=(doc.PREDICTION_COUNT, *doc.MATCHING),
        body=doc.json_body(schemas.EmbeddingsQuery),
        refusals=(*doc.KEYED, doc.BAD_JSON, doc.BAD_PARAMETER, *doc.EMBEDDINGS),
    ),
)
def recognize_embeddings(
    service: RecognitionService,
    body: BodyDep,
    session: SessionDep,
    recognitions: RecognitionsDep,
    inference: InferenceDep,
) -> dict[str, Any]:
    vectors = embeddings_field(body.json, "embeddings", size=inference.dimensions)
    rules = matching(service, body, unique=False)  # embeddings are not one photo's faces
    found = recognitions.search_vectors(session, service, vectors, matching=rules)
    result = [
        {"embedding": vector, "similarities": render.matches(matches)}
        for vector, matches in zip(vectors, found, strict=True)
    ]
    return {"result": result}


def matching(service: Service, body: Body, *, unique: bool | None) -> Matching:
    """`prediction_count`, `aggregate` and the threshold in force: the request's
    `min_similarity`, else the service's (facegate extensions, decisions.md D19); `unique`: one
    subject per photo (None: the service's setting; embeddings are not one photo's)."""
    return Matching.of(
        service,
        count=body.params.prediction_count(),
        per_subject=body.params.per_subject(),
        requested=body.params.min_similarity(),
        unique=unique,
    )
