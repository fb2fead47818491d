"""Recognition: who is in this photo, or whose is this embedding (decisions.md C1.4)."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request

from facegate import face_services
from facegate.api import openapi as doc
from facegate.api import render, schemas
from facegate.api.deps import (
    Body,
    BodyDep,
    IndexDep,
    InferenceDep,
    RecognitionService,
    SessionDep,
    SettingsDep,
)
from facegate.api.params import embeddings_field
from facegate.api.unknown_faces import keep_strangers
from facegate.collection.search import Match
from facegate.db.tables import Service
from facegate.events import outbox
from facegate.inference import embeddings

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
            doc.DRY_RUN,
        ),
        body=doc.image_body("file"),
        refusals=(*doc.KEYED, doc.BAD_JSON, doc.BAD_PARAMETER, *doc.IMAGE),
    ),
)
def recognize(
    request: Request,
    service: RecognitionService,
    body: BodyDep,
    session: SessionDep,
    inference: InferenceDep,
    index: IndexDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    query = body.params.face_query()
    shape = face_services.response_format_of(service, default=settings.response_format)
    count = body.params.prediction_count()
    detect = body.params.boolean("detect_faces", True)
    per_subject, min_similarity = _matching(service, body)
    dry = body.params.dry_run()
    keeps = service.keep_unknown_faces and not dry
    image = body.image()
    # A service that keeps unknown faces keeps their pictures, cut from the decoded photo.
    analysis = inference.faces(image, query, detect=detect, pictures=keeps)
    matches = index.search(
        service,
        embeddings(analysis.faces),
        k=count,
        per_subject=per_subject,
        min_similarity=min_similarity,
    )
    result = [
        render.face(face, query, shape, round_box=True) | {"subjects": _subjects(found)}
        for face, found in zip(analysis.faces, matches, strict=True)
    ]
    if dry:
        return render.with_versions({"result": result}, analysis, query)
    # Before the count below, whose upsert would hold SQLite's write lock against this.
    keep_strangers(
        request,
        service=service,
        faces=analysis.faces,
        matches=matches,
        threshold=min_similarity,
        inference=inference,
        settings=settings,
    )
    # Cheap inserts in the request's transaction; the worker delivers them later.
    outbox.publish(
        session, service=service, events=[_event(face, threshold=min_similarity) for face in result]
    )
    # Counted last: the upsert locks the day's row until commit, so not during inference.
    face_services.count_request(session, service=service)
    return render.with_versions({"result": result}, analysis, query)


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
    service: RecognitionService, body: BodyDep, index: IndexDep, inference: InferenceDep
) -> dict[str, Any]:
    count = body.params.prediction_count()
    per_subject, min_similarity = _matching(service, body)
    embeddings = embeddings_field(body.json, "embeddings", size=inference.dimensions)
    matches = index.search(
        service,
        np.asarray(embeddings, dtype=np.float32),
        k=count,
        per_subject=per_subject,
        min_similarity=min_similarity,
    )
    result = [
        {"embedding": vector, "similarities": _subjects(found)}
        for vector, found in zip(embeddings, matches, strict=True)
    ]
    return {"result": result}


def _matching(service: Service, body: Body) -> tuple[bool, float | None]:
    """`aggregate` and the threshold in force: the request's `min_similarity`, else the
    service's (facegate extensions, decisions.md D19)."""
    requested = body.params.min_similarity()
    return body.params.per_subject(), face_services.min_similarity_of(service, requested=requested)


def _event(face: dict[str, Any], *, threshold: float | None) -> tuple[str, dict[str, Any]]:
    """A rendered face as an event: recognised or not by its best match against the threshold
    in force, as unknown faces are told apart (docs/events.md)."""
    best = face["subjects"][0] if face["subjects"] else {}
    return outbox.face_event(
        box=face.get("box", {}),
        subject=best.get("subject"),
        similarity=best.get("similarity"),
        threshold=threshold,
    )


def _subjects(matches: list[Match]) -> list[dict[str, Any]]:
    """Matches as CompreFace shows them: one per stored example, best first, duplicates kept
    (unless `aggregate=subject`)."""
    return [{"subject": m.subject, "similarity": render.round5(m.similarity)} for m in matches]
