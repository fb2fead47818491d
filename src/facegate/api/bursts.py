"""Recognition over several frames (a facegate extension, decisions.md D40): one answer per
person across a burst of photos, with each frame's evidence; each frame's faces matched as
`/recognize` matches one photo's (rejections, `unique_subjects`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from facegate import face_services
from facegate.api import openapi as doc
from facegate.api import render, schemas
from facegate.api.deps import (
    BodyDep,
    ClientAddress,
    RecognitionsDep,
    RecognitionService,
    SessionDep,
    SettingsDep,
)
from facegate.api.params import image_from_upload
from facegate.collection import bursts
from facegate.collection.recognition import Matching
from facegate.config import ResponseFormat
from facegate.engine.similarity import round5
from facegate.errors import InvalidParameter, MissingPart
from facegate.inference import FaceQuery

router = APIRouter(prefix="/recognition", tags=["recognition"])

FRAMES = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "The frames, in time order: one `file` part each, "
                        "at most `burst_max_frames`",
                    }
                },
            }
        }
    },
}


@router.post(
    "/recognize/burst",
    **doc.operation(
        schemas.BurstRecognition,
        params=(*doc.FACE_QUERY, doc.PREDICTION_COUNT, doc.MIN_SIMILARITY, doc.UNIQUE_SUBJECTS),
        body=FRAMES,
        refusals=(*doc.KEYED, doc.BAD_PARAMETER, *doc.IMAGE),
    ),
)
def recognize_burst(
    service: RecognitionService,
    body: BodyDep,
    session: SessionDep,
    recognitions: RecognitionsDep,
    settings: SettingsDep,
    source: ClientAddress,
) -> dict[str, Any]:
    query = body.params.face_query()
    matching = Matching.of(
        service,
        count=body.params.prediction_count(),
        per_subject=True,
        requested=body.params.min_similarity(),
        unique=body.params.unique_subjects(),
    )
    uploads = body.form.getlist("file") if body.form is not None else []
    if not uploads:
        raise MissingPart("file")
    if len(uploads) > settings.burst_max_frames:
        raise InvalidParameter(
            f"A burst has at most {settings.burst_max_frames} frames (burst_max_frames); "
            f"this one has {len(uploads)}"
        )
    frames = [image_from_upload(upload, "file") for upload in uploads]
    burst = recognitions.burst(
        session, service, frames, query=query, matching=matching, source=source
    )
    shape = face_services.response_format_of(service, default=settings.response_format)
    return burst_body(burst, query, shape)


def burst_body(burst: bursts.Burst, query: FaceQuery, shape: ResponseFormat) -> dict[str, Any]:
    """The answer of POST /recognition/recognize/burst, and what `facegate recognize-burst`
    prints: one entry per track, best answer first, with every frame's evidence."""
    return {
        "result": [_track(track, query, shape) for track in burst.tracks],
        "faces_per_frame": burst.faces_per_frame,
    }


def _track(track: bursts.Track, query: FaceQuery, shape: ResponseFormat) -> dict[str, Any]:
    verdict = track.verdict
    best = track.best
    return {
        "subject": verdict.subject,
        "similarity": None if verdict.similarity is None else round5(verdict.similarity),
        "support": round5(verdict.support),
        "frame": best.sighting.frame,
        "box": best.face.box.as_json(rounded=True),
        "frames": [
            {"frame": e.sighting.frame, "weight": round5(e.sighting.weight)}
            | render.face(e.face, query, shape, round_box=True)
            | {"subjects": render.matches(e.matches)}
            for e in track.evidence
        ],
    }
