""" "This face is not X": rejections recorded from recognition results, and the subjects they
take from the faces near them (decisions.md D66).

A rejection keeps the rejected face's embedding and the subject it was wrongly given. A face
is near a rejection of X when the model set calls the two the same person (similarity at least
`NEAR`) and the face is at least as similar to the rejected face as to X's closest example: the
rejection stands for a face that is not X, so X is not answered for faces that look more like
it than like X. X's own photos stay X's: they are closer to X's examples than to the rejected
face (measured in docs/gallery-check.md, "This is not X").

Plain functions taking a Session first, like `facegate.collection.store`; the caller owns the
transaction. A rejection is no collection write (the index holds none): recognition reads the
service's rejections with its own model at each request, one indexed query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from facegate.collection import store
from facegate.collection.search import Search
from facegate.db.tables import Rejection, Service, Subject, could_be_id
from facegate.engine.similarity import BALANCE, Scale, dots, normalize
from facegate.errors import RejectionNotFound
from facegate.events import outbox

# The similarity from which a face counts as the rejected face: where the model set's calibration
# says "the same person" (engine.similarity.BALANCE).
NEAR = BALANCE


@dataclass(frozen=True)
class Rejected:
    """A rejection as listed: its id, the subject it refuses, when, and by which model."""

    id: str
    subject: str
    calculator: str
    created_at: datetime


@dataclass(frozen=True)
class Rejections:
    """A service's rejections made with one model: row i refuses subject `subject_ids[i]`
    (named `names[i]`) to faces near `vectors[i]` (normalised)."""

    subject_ids: list[int]
    names: list[str]
    vectors: npt.NDArray[np.float32]

    def __bool__(self) -> bool:
        return bool(self.subject_ids)


NONE = Rejections([], [], np.zeros((0, 0), dtype=np.float32))


def add(
    s: Session,
    *,
    service: Service,
    subject: str,
    embedding: npt.ArrayLike,
    calculator: str,
) -> Rejected:
    """Record that the face of `embedding` (by `calculator`, of its length: the caller checks)
    is not `subject` (found case-insensitively, else SubjectNotFound)."""
    vector = normalize(np.asarray(embedding, dtype=np.float32).ravel())
    owner = store.get_subject(s, service=service, name=subject)
    row = Rejection(
        service_id=service.id,
        subject_id=owner.id,
        calculator=calculator,
        embedding=vector.astype("<f4").tobytes(),
    )
    s.add(row)
    s.flush()
    outbox.publish(
        s,
        service=service,
        events=[(outbox.REJECTION_ADDED, {"id": row.id, "subject": owner.name})],
    )
    return Rejected(row.id, owner.name, calculator, row.created_at)


def list_rejections(s: Session, *, service: Service) -> list[Rejected]:
    """The service's rejections, newest first."""
    rows = s.execute(
        select(Rejection.id, Subject.name, Rejection.calculator, Rejection.created_at)
        .join(Subject, Subject.id == Rejection.subject_id)
        .where(Rejection.service_id == service.id)
        .order_by(Rejection.created_at.desc(), Rejection.id)
    )
    return [Rejected(*row) for row in rows]


def delete_rejection(s: Session, *, service: Service, rejection_id: str) -> Rejected:
    """Undo a rejection: the subject is answered again for the faces near it."""
    found = [r for r in list_rejections(s, service=service) if r.id == rejection_id]
    if not could_be_id(rejection_id) or not found:
        raise RejectionNotFound(rejection_id)
    s.execute(delete(Rejection).where(Rejection.id == rejection_id))
    outbox.publish(
        s,
        service=service,
        events=[(outbox.REJECTION_DELETED, {"id": rejection_id, "subject": found[0].subject})],
    )
    return found[0]


def copy(s: Session, *, source: Service, target: Service, subjects: Mapping[int, int]) -> None:
    """Copy `source`'s rejections into `target` (a clone of it: face_services.clone_service),
    each to its subject's copy (`subjects`: source subject id -> the copy's id), as they were
    made; no event, as the clone's examples have none."""
    rows = s.execute(
        select(
            Rejection.subject_id, Rejection.calculator, Rejection.embedding, Rejection.created_at
        ).where(Rejection.service_id == source.id)
    ).all()
    s.add_all(
        Rejection(
            service_id=target.id,
            subject_id=subjects[subject_id],
            calculator=calculator,
            embedding=embedding,
            created_at=created_at,
        )
        for subject_id, calculator, embedding, created_at in rows
    )
    s.flush()


def load(s: Session, *, service: Service, calculator: str) -> Rejections:
    """The service's rejections made with `calculator`, with their subjects' current names."""
    rows = s.execute(
        select(Rejection.subject_id, Subject.name, Rejection.embedding)
        .join(Subject, Subject.id == Rejection.subject_id)
        .where(Rejection.service_id == service.id, Rejection.calculator == calculator)
    ).all()
    if not rows:
        return NONE
    return Rejections(
        [row[0] for row in rows],
        [row[1] for row in rows],
        np.stack([np.frombuffer(row[2], dtype="<f4") for row in rows]).astype(np.float32),
    )


def refused(
    search: Search,
    service: Service,
    queries: npt.NDArray[np.float32],
    rejections: Rejections,
    *,
    scale: Scale,
) -> list[set[str]]:
    """For each query embedding (normalised rows), the subjects that rejections take from it:
    those with a rejection near the face (module docstring)."""
    refusals: list[set[str]] = [set() for _ in queries]
    if not rejections or rejections.vectors.shape[1] != queries.shape[1]:
        return refusals
    # (queries, rejections) similarities: a handful of rows, exact.
    near = np.stack([scale.from_dots(dots(query, rejections.vectors)) for query in queries])
    for subject_id in {rejections.subject_ids[j] for j in np.flatnonzero((near >= NEAR).any(0))}:
        mine = [j for j, owner in enumerate(rejections.subject_ids) if owner == subject_id]
        closest = near[:, mine].max(axis=1)
        best = search.best_of_subject(service, queries, subject_id=subject_id)
        name = rejections.names[mine[0]]
        for i, similarity in enumerate(closest):
            if similarity >= NEAR and (best is None or similarity >= best[i].similarity):
                refusals[i].add(name)
    return refusals
