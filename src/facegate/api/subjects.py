"""Subjects of a recognition service: create, list, rename or merge, delete (decisions.md C1.2)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.convertors import Convertor, register_url_convertor

from facegate.api import openapi as doc
from facegate.api import schemas
from facegate.api.deps import BodyDep, RecognitionService, SessionDep, WritableService
from facegate.api.params import subject_name
from facegate.collection import store
from facegate.errors import InvalidParameter

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
def delete_subject(subject: str, service: WritableService, session: SessionDep) -> dict[str, str]:
    return {"subject": store.delete_subject(session, service=service, name=subject)}


@router.delete("", **doc.operation(schemas.Deleted, refusals=(*doc.KEYED, *doc.WRITE)))
def delete_all_subjects(service: WritableService, session: SessionDep) -> dict[str, int]:
    return {"deleted": store.delete_all_subjects(session, service=service)}
