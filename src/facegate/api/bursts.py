"""Recognition over several frames (a facegate extension, decisions.md D40): one answer per
person across a burst of photos, with each frame's evidence."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from facegate import face_services
from facegate.api import openapi as doc
from facegate.api import render, schemas
from facegate.api.deps import (
    BodyDep,
    IndexDep,
    InferenceDep,
    RecognitionService,
    SessionDep,
    SettingsDep,
)
from facegate.api.params import image_from_upload
from facegate.api.unknown_faces import keep_strangers
from facegate.collection import bursts
from facegate.config import ResponseFormat
from facegate.errors import InvalidParameter, MissingPart
from facegate.events import outbox
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
        params=(*doc.FACE_QUERY, doc.PREDICTION_COUNT, doc.MIN_SIMILARITY),
        body=FRAMES,
        refusals=(*doc.KEYED, doc.BAD_PARAMETER, *doc.IMAGE),
    ),
)
def recognize_burst(
    request: Request,
    service: RecognitionService,
    body: BodyDep,
    session: SessionDep,
    inference: InferenceDep,
    index: IndexDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    query = body.params.face_query()
    count = body.params.prediction_count()
    threshold = face_services.min_similarity_of(service, requested=body.params.min_similarity())
    uploads = body.form.getlist("file") if body.form is not None else []
    if not uploads:
        raise MissingPart("file")
    if len(uploads) > settings.burst_max_frames:
        raise InvalidParameter(
            f"A burst has at most {settings.burst_max_frames} frames (burst_max_frames); "
            f"this one has {len(uploads)}"
        )
    frames = [image_from_upload(upload, "file") for upload in uploads]
    burst = bursts.recognize(
        inference,
        index,
        service,
        frames,
        query=query,
        count=count,
        min_similarity=threshold,
        pictures=service.keep_unknown_faces,
    )
    strangers = [track.best.face for track in burst.tracks if track.verdict.subject is None]
    keep_strangers(
        request,
        service=service,
        faces=strangers,
        matches=[[] for _ in strangers],
        threshold=threshold,
        inference=inference,
        settings=settings,
    )
    shape = face_services.response_format_of(service, default=settings.response_format)
    shown = burst_body(burst, query, shape)
    outbox.publish(
        session,
        service=service,
        events=[
            track_event(track, shown)
            for track, shown in zip(burst.tracks, shown["result"], strict=True)
        ],
    )
    face_services.count_request(session, service=service)
    return shown


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
        "similarity": None if verdict.similarity is None else render.round5(verdict.similarity),
        "support": render.round5(verdict.support),
        "frame": best.sighting.frame,
        "box": render.face(best.face, query, shape, round_box=True)["box"],
        "frames": [
            {"frame": e.sighting.frame, "weight": render.round5(e.sighting.weight)}
            | render.face(e.face, query, shape, round_box=True)
            | {
                "subjects": [
                    {"subject": m.subject, "similarity": render.round5(m.similarity)}
                    for m in e.matches
                ]
            }
            for e in track.evidence
        ],
    }


def track_event(track: bursts.Track, shown: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A track as a `face.recognized` or `face.unrecognized` event (docs/events.md): its
    answer by the vote (an unknown track names its closest match), the box of its best frame
    and the frames it was seen in."""
    verdict = track.verdict
    similarity = verdict.similarity
    data = {
        "subject": verdict.subject or verdict.closest,
        "similarity": None if similarity is None else render.round5(similarity),
        "box": shown["box"],
        "frames": len(track.evidence),
    }
    return (outbox.FACE_RECOGNIZED if verdict.subject else outbox.FACE_UNRECOGNIZED), data
