"""The gallery check of a recognition service, and examples set aside from search (facegate
extensions, decisions.md D65, docs/gallery-check.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from facegate import face_services
from facegate.api import openapi as doc
from facegate.api import schemas
from facegate.api.deps import (
    BodyDep,
    InferenceDep,
    RecognitionService,
    SessionDep,
    WritableService,
)
from facegate.collection import gallery_check, store
from facegate.collection.quality_gate import QualityLimits
from facegate.errors import ExampleNotFound

router = APIRouter(prefix="/recognition", tags=["gallery check"])

QUALITY = doc.query(
    "quality",
    {"type": "boolean", "default": False},
    "Also run the quality gate on every kept photo (the service's limits, else the defaults): "
    "one inference per example",
)
UNKNOWN_EXAMPLE = doc.Refusal(ExampleNotFound, "no example with this id")


@router.get(
    "/gallery-check",
    **doc.operation(
        schemas.GalleryCheck, params=(QUALITY,), refusals=(*doc.KEYED, doc.BAD_PARAMETER)
    ),
)
def check(
    service: RecognitionService, body: BodyDep, session: SessionDep, inference: InferenceDep
) -> dict[str, Any]:
    gallery, strangers = gallery_check.read(
        session, service=service, calculator=inference.calculator_id
    )
    report = gallery_check.check(
        gallery, strangers, scale=inference.scale, threshold=service.similarity_threshold
    )
    refused = None
    if body.params.boolean("quality", False):
        limits = face_services.enrolment_quality_of(service) or QualityLimits()
        refused = gallery_check.refused_by_gate(
            session, gallery=gallery, inference=inference, limits=limits
        )
    return render(report, refused, model=inference.calculator_id)


def render(
    report: gallery_check.Report, refused: list[gallery_check.Refused] | None, *, model: str
) -> dict[str, Any]:
    """The report as the API answers it (the CLI prints the same)."""
    threshold = report.threshold
    return {
        "model": model,
        "examples": report.examples,
        "subjects": report.subjects,
        "set_aside": [{"image_id": i, "subject": name} for i, name in report.set_aside],
        "outliers": [
            {"image_id": o.image_id, "subject": o.subject, "similarity": _round(o.similarity)}
            for o in report.outliers
        ],
        "confusable": [_pair(pair) for pair in report.confusable],
        "duplicates": [_pair(pair) for pair in report.duplicates],
        "quality": None
        if refused is None
        else [
            {"image_id": r.image_id, "subject": r.subject, "reasons": r.reasons} for r in refused
        ],
        "strangers": [
            {
                "face_id": f.face_id,
                "url": f"/api/v1/recognition/unknown-faces/{f.face_id}/img",
                "image_id": f.image_id,
                "subject": f.subject,
                "similarity": _round(f.similarity),
            }
            for f in report.strangers
        ],
        "threshold": {
            "current": threshold.current,
            "current_false_accept_rate": threshold.current_false_accept_rate,
            "pairs": threshold.pairs,
            "same_subject_pairs": threshold.same_pairs,
            "by_rate": [
                {"rate": rate, "similarity": value} for rate, value in threshold.by_rate.items()
            ],
            "suggested": threshold.suggested,
            "suggested_false_accept_rate": threshold.suggested_rate,
            "suggested_false_reject_rate": threshold.suggested_false_reject_rate,
        },
        "notes": report.notes,
    }


def _pair(pair: gallery_check.Pair) -> dict[str, Any]:
    return {
        "image_ids": list(pair.image_ids),
        "subjects": list(pair.subjects),
        "similarity": _round(pair.similarity),
    }


def _round(value: float) -> float:
    return round(value, 5)


@router.put(
    "/faces/{image_id}/set-aside",
    **doc.operation(schemas.SetAside, refusals=(*doc.KEYED, UNKNOWN_EXAMPLE, *doc.WRITE)),
)
def set_aside(image_id: str, service: WritableService, session: SessionDep) -> dict[str, Any]:
    """Search leaves the example out until it is restored; it stays listed and kept."""
    return _set_aside(session, service, image_id, aside=True)


@router.delete(
    "/faces/{image_id}/set-aside",
    **doc.operation(schemas.SetAside, refusals=(*doc.KEYED, UNKNOWN_EXAMPLE, *doc.WRITE)),
)
def restore(image_id: str, service: WritableService, session: SessionDep) -> dict[str, Any]:
    """Search finds the example again."""
    return _set_aside(session, service, image_id, aside=False)


def _set_aside(session: Any, service: Any, image_id: str, *, aside: bool) -> dict[str, Any]:
    example = store.get_example(session, service=service, example_id=image_id)
    subject = example.subject.name
    store.set_aside(session, service=service, ids=[image_id], aside=aside)
    return {"image_id": image_id, "subject": subject, "set_aside": aside}
