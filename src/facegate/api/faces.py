"""Face examples of a recognition service: add, list, delete, download, verify.

As CompreFace 1.2 answers them: decisions.md C1.3 and C1.5.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from facegate import face_services
from facegate.admin import audit
from facegate.api import openapi as doc
from facegate.api import render, schemas
from facegate.api.deps import (
    BodyDep,
    ClientAddress,
    InferenceDep,
    RecognitionService,
    SessionDep,
    SettingsDep,
    WritableService,
)
from facegate.api.params import embeddings_field, require_size
from facegate.collection import enrol, store, verification
from facegate.db.tables import Service
from facegate.engine.similarity import round5
from facegate.errors import (
    InvalidParameter,
)

router = APIRouter(prefix="/recognition", tags=["faces"])

# Stored images are immutable: clients may cache them for a year, as CompreFace says.
IMAGE_HEADERS = {"Cache-Control": "public, max-age=31536000"}


@router.post(
    "/faces",
    **doc.operation(
        schemas.ExampleRef,
        status=201,
        params=(doc.SUBJECT_TO_ADD, doc.DET_PROB_THRESHOLD),
        body=doc.image_body("file"),
        refusals=(
            *doc.KEYED,
            doc.BAD_JSON,
            doc.SUBJECT_MISSING,
            doc.BAD_PARAMETER,
            *doc.SUBJECT_NAME,
            *doc.IMAGE,
            doc.ONE_FACE,
            doc.QUALITY_REFUSED,
            *doc.WRITE,
        ),
    ),
)
def add_example(
    service: WritableService,
    body: BodyDep,
    session: SessionDep,
    inference: InferenceDep,
    settings: SettingsDep,
) -> dict[str, str]:
    subject = body.params.subject()
    threshold = body.params.det_prob_threshold()
    image = body.image()
    # The one-face rule, the quality gate and the content hash, as `facegate import` enrols
    # (collection.enrol).
    quality = face_services.enrolment_quality_of(service)
    example = store.add_example(
        session,
        service=service,
        subject=subject,
        embedding=enrol.face_embedding(
            inference, image, det_prob_threshold=threshold, quality=quality
        ),
        calculator=inference.calculator_id,
        image=image.data if settings.save_images_to_db else None,
        content_hash=enrol.content_hash(image.data),
    )
    return {"image_id": example.id, "subject": subject}


@router.get(
    "/faces",
    **doc.operation(
        schemas.ExamplePage,
        params=(doc.PAGE, doc.SIZE, doc.SUBJECT_FILTER),
        refusals=(*doc.KEYED, doc.BAD_JSON, doc.BAD_PARAMETER),
    ),
)
def list_examples(
    service: RecognitionService, body: BodyDep, session: SessionDep
) -> dict[str, Any]:
    page = store.list_examples(
        session,
        service=service,
        subject=body.params.text("subject"),
        page=body.params.integer("page", 0),
        size=body.params.integer("size", store.DEFAULT_PAGE_SIZE),
    )
    return {
        # `set_aside`, a facegate extension after CompreFace's fields (decisions.md D80).
        "faces": [
            {"image_id": ref.image_id, "subject": ref.subject, "set_aside": ref.set_aside}
            for ref in page.items
        ],
        "total_pages": page.total_pages,
        "total_elements": page.total_elements,
        "page_number": page.page_number,
        "page_size": page.page_size,
    }


@router.delete(
    "/faces",
    **doc.operation(
        schemas.Deleted,
        params=(doc.SUBJECT_TO_DELETE,),
        refusals=(*doc.KEYED, doc.BAD_JSON, *doc.WRITE),
    ),
)
def delete_examples_of_subject(
    service: WritableService, body: BodyDep, session: SessionDep, address: ClientAddress
) -> dict[str, int]:
    # Without `subject`, every example of the service goes, as the seed documents (decisions.md D2).
    subject = body.params.text("subject")
    deleted = store.delete_examples_by_subject(session, service=service, subject=subject)
    _audit(session, service, address, subject=subject, count=deleted)
    return {"deleted": deleted}


@router.delete(
    "/faces/{image_id}",
    **doc.operation(schemas.ExampleRef, refusals=(*doc.KEYED, doc.UNKNOWN_EXAMPLE, *doc.WRITE)),
)
def delete_example(
    image_id: str, service: WritableService, session: SessionDep, address: ClientAddress
) -> dict[str, str]:
    deleted = store.delete_example(session, service=service, example_id=image_id)
    _audit(session, service, address, ids=[deleted.image_id], count=1)
    return {"image_id": deleted.image_id, "subject": deleted.subject}


@router.post(
    "/faces/delete",
    **doc.operation(
        schemas.ExampleRefs,
        body=doc.json_body(list[str]),
        refusals=(*doc.KEYED, doc.BAD_JSON, doc.NOT_IDS, *doc.WRITE),
    ),
)
def delete_examples(
    service: WritableService, body: BodyDep, session: SessionDep, address: ClientAddress
) -> list[dict[str, str]]:
    if not isinstance(body.json, list) or not all(isinstance(i, str) for i in body.json):
        raise InvalidParameter("The request body must be a JSON array of image ids")
    deleted = store.delete_examples(session, service=service, ids=body.json)
    _audit(session, service, address, ids=[ref.image_id for ref in deleted], count=len(deleted))
    return [{"image_id": ref.image_id, "subject": ref.subject} for ref in deleted]


def _audit(session: Session, service: Service, address: str | None, **detail: Any) -> None:
    actor = audit.Actor.of_service(service, address)
    audit.record(session, audit.EXAMPLE_DELETED, actor=actor, target=service.guid, **detail)


@router.get(
    "/faces/{image_id}/img",
    response_class=Response,
    responses=doc.responses(None, 200, doc.KEYED) | {200: doc.IMAGE_FILE},
)
def download_image(image_id: str, service: RecognitionService, session: SessionDep) -> Response:
    data = store.example_image(session, service=service, example_id=image_id)
    return Response(data, media_type="application/octet-stream", headers=IMAGE_HEADERS)


@router.post(
    "/faces/{image_id}/verify",
    **doc.operation(
        schemas.ExampleVerification,
        params=doc.FACE_QUERY,
        body=doc.image_body("file"),
        refusals=(*doc.KEYED, doc.BAD_JSON, doc.BAD_PARAMETER, *doc.IMAGE, *doc.EXAMPLE),
    ),
)
def verify_against_example(
    image_id: str,
    service: RecognitionService,
    body: BodyDep,
    session: SessionDep,
    inference: InferenceDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    query = body.params.face_query()
    found = verification.photo_against_example(
        session, inference, service, body.image(), example_id=image_id, query=query
    )
    shape = face_services.response_format_of(service, default=settings.response_format)
    result = [
        render.face(face, query, shape, round_box=True)
        | {"subject": found.example.subject.name, "similarity": round5(score)}
        for face, score in zip(found.analysis.faces, found.scores, strict=True)
    ]
    return render.with_versions({"result": result}, found.analysis, query)


@router.post(
    "/embeddings/faces/{image_id}/verify",
    **doc.operation(
        schemas.EmbeddingsVerificationResult,
        body=doc.json_body(schemas.EmbeddingsQuery),
        refusals=(*doc.KEYED, doc.BAD_JSON, *doc.EMBEDDINGS, *doc.EXAMPLE),
    ),
)
def verify_embeddings_against_example(
    image_id: str,
    service: RecognitionService,
    body: BodyDep,
    session: SessionDep,
    inference: InferenceDep,
) -> dict[str, Any]:
    vectors = embeddings_field(body.json, "embeddings")
    _, stored_vector = verification.example_embedding(
        session, service, example_id=image_id, calculator=inference.calculator_id
    )
    require_size(vectors, len(stored_vector))
    scores = verification.similarities(inference.scale, stored_vector, vectors)
    return {"result": render.scored_embeddings(vectors, scores)}
