"""Subjects of a recognition service: create, list, rename or merge, delete (decisions.md C1.2),
and facegate's verification against a whole subject (D19)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.convertors import Convertor, register_url_convertor

from facegate import face_services
from facegate.admin import audit
from facegate.api import openapi as doc
from facegate.api import render, schemas
from facegate.api.deps import (
    BodyDep,
    ClientAddress,
    IndexDep,
    InferenceDep,
    RecognitionService,
    SessionDep,
    SettingsDep,
    WritableService,
)
from facegate.api.params import subject_name
from facegate.collection import store
from facegate.db.tables import Service
from facegate.engine.similarity import round5
from facegate.errors import InvalidParameter, SubjectWithoutExamples
from facegate.inference import embeddings

router = APIRouter(prefix="/recognition/subjects", tags=["subjects"])


class _AnyText(Convertor[str]):
    """A subject's name in a URL: any text, line breaks and encoded `/` (`a%2Fb`) included, so
    every name reaches the handler, and one that breaks the rule is answered "not found" like
    any name no subject bears (decisions.md D11). Starlette's `path` (`.*`) stops at a line
    break: `a%0Ab` matched no route, and `Ann%0A` matched as "Ann"."""

    regex = "[\\s\\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# Registered before the routes below compile their paths.
register_url_convertor("name", _AnyText())


@router.post(
    "",
    **doc.operation(
        schemas.Subject,
        status=201,
        body=doc.json_body(schemas.SubjectName),
        refusals=(*doc.KEYED, doc.BAD_JSON, *doc.SUBJECT_NAME, doc.SUBJECT_EXISTS, *doc.WRITE),
    ),
)
def create_subject(service: WritableService, body: BodyDep, session: SessionDep) -> dict[str, str]:
    name = subject_name(body.json)
    subject = store.create_subject(session, service=service, name=name)
    return {"subject": subject.name}


@router.get("", **doc.operation(schemas.Subjects, refusals=doc.KEYED))
def list_subjects(service: RecognitionService, session: SessionDep) -> dict[str, list[str]]:
    return {"subjects": store.list_subjects(session, service=service)}


@router.put(
    "/{subject:name}",
    **doc.operation(
        schemas.Updated,
        body=doc.json_body(schemas.SubjectName),
        refusals=(*doc.KEYED, doc.BAD_JSON, *doc.SUBJECT_NAME, doc.UNKNOWN_SUBJECT, *doc.WRITE),
    ),
)
def rename_subject(
    subject: str, service: WritableService, body: BodyDep, session: SessionDep
) -> dict[str, bool]:
    if not subject.strip():
        raise InvalidParameter("Subject name is empty; ")
    new = subject_name(body.json)
    updated = store.rename_subject(session, service=service, old=subject, new=new)
    return {"updated": updated}


@router.delete(
    "/{subject:name}",
    **doc.operation(schemas.Subject, refusals=(*doc.KEYED, doc.UNKNOWN_SUBJECT, *doc.WRITE)),
)
def delete_subject(
    subject: str, service: WritableService, session: SessionDep, address: ClientAddress
) -> dict[str, str]:
    deleted = store.delete_subject(session, service=service, name=subject)
    _audit(session, service, address, subjects=[deleted], count=1)
    return {"subject": deleted}


@router.delete("", **doc.operation(schemas.Deleted, refusals=(*doc.KEYED, *doc.WRITE)))
def delete_all_subjects(
    service: WritableService, session: SessionDep, address: ClientAddress
) -> dict[str, int]:
    deleted = store.delete_all_subjects(session, service=service)
    _audit(session, service, address, count=deleted)
    return {"deleted": deleted}


def _audit(session: Session, service: Service, address: str | None, **detail: Any) -> None:
    actor = audit.Actor.of_service(service, address)
    audit.record(session, audit.SUBJECT_DELETED, actor=actor, target=service.guid, **detail)


@router.post(
    "/{subject:name}/verify",
    **doc.operation(
        schemas.SubjectVerification,
        params=doc.FACE_QUERY,
        body=doc.image_body("file"),
        refusals=(
            *doc.KEYED,
            doc.BAD_JSON,
            doc.BAD_PARAMETER,
            *doc.IMAGE,
            doc.UNKNOWN_SUBJECT,
            doc.SUBJECT_EMPTY,
        ),
    ),
)
def verify_against_subject(
    subject: str,
    service: RecognitionService,
    body: BodyDep,
    session: SessionDep,
    inference: InferenceDep,
    index: IndexDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Each face's similarity to the subject: to its most similar example."""
    query = body.params.face_query()
    shape = face_services.response_format_of(service, default=settings.response_format)
    analysis = inference.faces(body.image(), query)
    # Looked up after detection, as `/faces/{image_id}/verify` looks up its example.
    found = store.get_subject(session, service=service, name=subject)
    best = index.best_of_subject(service, embeddings(analysis.faces), subject_id=found.id)
    if best is None:
        raise SubjectWithoutExamples(found.name)
    result = [
        render.face(face, query, shape, round_box=True)
        | {
            "subject": match.subject,
            "similarity": round5(match.similarity),
            "image_id": match.example_id,
        }
        for face, match in zip(analysis.faces, best, strict=True)
    ]
    return render.with_versions({"result": result}, analysis, query)
