"""Unknown faces (a facegate extension, decisions.md D26): the faces recognition matched to no
one, kept by services that opt in, listed as clusters, named into subjects or dismissed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from facegate.api import openapi as doc
from facegate.api import schemas
from facegate.api.deps import (
    BodyDep,
    RecognitionService,
    SessionDep,
    SettingsDep,
    WritableService,
    get_client_address,
)
from facegate.api.params import subject_name
from facegate.collection import unknown
from facegate.collection.search import Match
from facegate.config import Settings
from facegate.db.tables import Service
from facegate.engine.faces import Face
from facegate.engine.similarity import recognised
from facegate.errors import ClusterNotFound, UnknownFaceNotFound
from facegate.inference import Inference

router = APIRouter(prefix="/recognition/unknown-faces", tags=["unknown faces"])
log = logging.getLogger(__name__)

MIN_FACES = doc.query(
    "min_faces",
    {"type": "integer", "minimum": 1, "default": 1},
    "Only clusters of at least this many faces (Immich's minFaces)",
)
UNKNOWN_CLUSTER = doc.Refusal(ClusterNotFound, "no cluster with this id")
UNKNOWN_FACE = doc.Refusal(UnknownFaceNotFound, "no kept face with this id")
PICTURE = {
    "description": "The face's picture, a small JPEG",
    "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
}


def keep_strangers(
    request: Request,
    *,
    service: Service,
    faces: Sequence[Face],
    matches: Sequence[list[Match]],
    threshold: float | None,
    inference: Inference,
    settings: Settings,
) -> None:
    """Keep the faces of a recognition that matched no one, if the service keeps them (their
    pictures were cut by the engine, asked for by the handler).

    In a transaction of its own, committed before the recognition's answer; a failure here is
    logged and the recognition still answered (decisions.md D26): the kept faces are a
    by-product, never worth a client's failed request."""
    if not service.keep_unknown_faces:
        return
    strangers = [
        unknown.Stranger(face.embedding, face.picture)
        for face, found in zip(faces, matches, strict=True)
        if not recognised(found[0].similarity if found else None, threshold=threshold)
        and face.embedding is not None
        and face.picture is not None
    ]
    if not strangers:
        return
    sessions: sessionmaker[Session] = request.app.state.sessions
    try:
        with sessions.begin() as s:
            unknown.keep(
                s,
                service=service,
                strangers=strangers,
                calculator=inference.calculator_id,
                scale=inference.scale,
                thresholds=inference.cluster_thresholds,
                limits=_limits(settings),
                source=get_client_address(request),
            )
    except Exception:  # any failure: the recognition is answered all the same (docstring)
        log.exception("could not keep the unknown faces of service %s", service.guid)


def _limits(settings: Settings) -> unknown.Limits:
    return unknown.Limits(
        settings.unknown_faces_max, timedelta(days=settings.unknown_faces_max_age_days)
    )


@router.get(
    "/clusters",
    **doc.operation(
        schemas.UnknownClusters, params=(MIN_FACES,), refusals=(*doc.KEYED, doc.BAD_PARAMETER)
    ),
)
def list_clusters(
    service: RecognitionService, body: BodyDep, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    min_faces = max(body.params.integer("min_faces", 1), 1)
    unknown.expire(session, service=service, limits=_limits(settings))
    found = unknown.list_clusters(session, service=service, min_faces=min_faces)
    return {
        "clusters": [
            {
                "id": str(cluster.id),
                "created": cluster.created_at.isoformat(),
                "updated": cluster.updated_at.isoformat(),
                "faces": [
                    {
                        "id": face.id,
                        "seen": face.seen_at.isoformat(),
                        "url": f"/api/v1/recognition/unknown-faces/{face.id}/img",
                    }
                    for face in cluster.faces
                ],
            }
            for cluster in found
        ]
    }


@router.get(
    "/{face_id}/img",
    response_class=Response,
    responses=doc.responses(None, 200, (*doc.KEYED, UNKNOWN_FACE)) | {200: PICTURE},
)
def picture(face_id: str, service: RecognitionService, session: SessionDep) -> Response:
    data = unknown.picture(session, service=service, face_id=face_id)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private"})


@router.post(
    "/clusters/{cluster_id}/name",
    **doc.operation(
        schemas.NamedCluster,
        body=doc.json_body(schemas.SubjectName),
        refusals=(*doc.KEYED, doc.BAD_JSON, *doc.SUBJECT_NAME, UNKNOWN_CLUSTER, *doc.WRITE),
    ),
)
def name_cluster(
    cluster_id: str,
    service: WritableService,
    body: BodyDep,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """The cluster's faces become examples of the subject (new or existing), each with its
    picture as the example's photo when the server keeps photos (`save_images_to_db`)."""
    name = subject_name(body.json)
    added = unknown.name_cluster(
        session,
        service=service,
        cluster_id=cluster_id,
        subject=name,
        keep_pictures=settings.save_images_to_db,
    )
    return {"subject": name, "image_ids": added}


@router.delete(
    "/clusters/{cluster_id}",
    **doc.operation(schemas.Deleted, refusals=(*doc.KEYED, UNKNOWN_CLUSTER, *doc.WRITE)),
)
def dismiss_cluster(
    cluster_id: str, service: WritableService, session: SessionDep
) -> dict[str, int]:
    return {"deleted": unknown.dismiss_cluster(session, service=service, cluster_id=cluster_id)}
