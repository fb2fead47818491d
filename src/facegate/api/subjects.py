"""Subjects of a recognition service: create, list, rename or merge, delete (decisions.md C1.2)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from facegate.api import openapi as doc
from facegate.api import schemas
from facegate.api.deps import BodyDep, RecognitionService, SessionDep, WritableService
from facegate.api.params import subject_name
from facegate.collection import store
from facegate.errors import InvalidParameter

router = APIRouter(prefix="/recognition/subjects", tags=["subjects"])


def _subject_in_path(subject: str, request: Request) -> str:
    """The name as the URL holds it, whole. Starlette's route pattern ends in `$`, which also
    matches before a final line break, so `subject` alone would lose one: `Ann%0A` would act
    on "Ann" instead of finding no such subject."""
    return str(request.scope["path"]).split(f"{router.prefix}/", 1)[1] or subject


# `:path` in the routes below, so that a name holding an encoded `/` (`a%2Fb`, which arrives
# decoded) reaches the handler and is answered "not found" like any name no subject bears
# (decisions.md D11).
SubjectInPath = Annotated[str, Depends(_subject_in_path)]


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
    "/{subject:path}",
    **doc.operation(
        schemas.Updated,
        body=doc.json_body(schemas.SubjectName),
        refusals=(*doc.KEYED, doc.BAD_JSON, *doc.SUBJECT_NAME, doc.UNKNOWN_SUBJECT, *doc.WRITE),
    ),
)
def rename_subject(
    subject: SubjectInPath, service: WritableService, body: BodyDep, session: SessionDep
) -> dict[str, bool]:
    if not subject.strip():
        raise InvalidParameter("Subject name is empty; ")
    new = subject_name(body.json)
    updated = store.rename_subject(session, service=service, old=subject, new=new)
    return {"updated": updated}


@router.delete(
    "/{subject:path}",
    **doc.operation(schemas.Subject, refusals=(*doc.KEYED, doc.UNKNOWN_SUBJECT, *doc.WRITE)),
)
def delete_subject(
    subject: SubjectInPath, service: WritableService, session: SessionDep
) -> dict[str, str]:
    return {"subject": store.delete_subject(session, service=service, name=subject)}


@router.delete("", **doc.operation(schemas.Deleted, refusals=(*doc.KEYED, *doc.WRITE)))
def delete_all_subjects(service: WritableService, session: SessionDep) -> dict[str, int]:
    return {"deleted": store.delete_all_subjects(session, service=service)}
