"""Subjects of a recognition service: create, list, rename or merge, delete (decisions.md C1.2)."""

from __future__ import annotations

from fastapi import APIRouter

from facegate.api.deps import BodyDep, RecognitionService, SessionDep, WritableService
from facegate.api.params import subject_name
from facegate.collection import store
from facegate.errors import InvalidParameter

router = APIRouter(prefix="/recognition/subjects", tags=["subjects"])


@router.post("", status_code=201)
def create_subject(service: WritableService, body: BodyDep, session: SessionDep) -> dict[str, str]:
    name = subject_name(body.json)
    subject = store.create_subject(session, service=service, name=name)
    return {"subject": subject.name}


@router.get("")
def list_subjects(service: RecognitionService, session: SessionDep) -> dict[str, list[str]]:
    return {"subjects": store.list_subjects(session, service=service)}


# `:path`, so that a name holding an encoded `/` (`a%2Fb`, which arrives decoded) reaches the
# handler and is answered "not found" like any name no subject bears (decisions.md D11).
@router.put("/{subject:path}")
def rename_subject(
    subject: str, service: WritableService, body: BodyDep, session: SessionDep
) -> dict[str, bool]:
    if not subject.strip():
        raise InvalidParameter("Subject name is empty; ")
    new = subject_name(body.json)
    updated = store.rename_subject(session, service=service, old=subject, new=new)
    return {"updated": updated}


@router.delete("/{subject:path}")
def delete_subject(subject: str, service: WritableService, session: SessionDep) -> dict[str, str]:
    return {"subject": store.delete_subject(session, service=service, name=subject)}


@router.delete("")
def delete_all_subjects(service: WritableService, session: SessionDep) -> dict[str, int]:
    return {"deleted": store.delete_all_subjects(session, service=service)}
