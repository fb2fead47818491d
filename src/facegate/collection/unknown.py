"""Unknown faces of a service: kept as recognition meets them, clustered as they come, then
named into a subject or dismissed (decisions.md D26, D27; docs/unknown-faces.md).

Plain functions taking a Session first, like `facegate.collection.store`; the caller owns the
transaction. Clusters live in the database, so every server process and worker shares them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from facegate.collection import clusters, store
from facegate.config import Settings
from facegate.db.session import bulk_write
from facegate.db.tables import Service, UnknownCluster, UnknownFace, could_be_id, utcnow
from facegate.engine.similarity import ClusterThresholds, Scale, normalize
from facegate.errors import ClusterNotFound, UnknownFaceNotFound


@dataclass(frozen=True)
class Limits:
    """How many unknown faces a service keeps, and for how long."""

    max_faces: int
    max_age: timedelta

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.unknown_faces_max, timedelta(days=settings.unknown_faces_max_age_days))


@dataclass(frozen=True)
class Stranger:
    """A face matched to no one: its raw embedding and its picture (JPEG)."""

    embedding: np.ndarray
    picture: bytes


@dataclass(frozen=True)
class KeptFace:
    id: str
    seen_at: datetime


@dataclass(frozen=True)
class Cluster:
    id: int
    created_at: datetime
    updated_at: datetime
    faces: list[KeptFace]


def keep(
    s: Session,
    *,
    service: Service,
    strangers: Sequence[Stranger],
    calculator: str,
    scale: Scale,
    thresholds: ClusterThresholds,
    limits: Limits,
    source: str | None,
) -> list[str]:
    """Keep `strangers` (seen now, from client address `source`), each joining the cluster it
    is close to or starting one, after dropping what the limits no longer allow. Returns the
    kept faces' ids."""
    strangers = strangers[: limits.max_faces]
    if not strangers:
        return []
    vectors = [normalize(np.asarray(one.embedding, dtype=np.float32).ravel()) for one in strangers]
    _lock(s, service)
    now = utcnow()
    prune(s, service_id=service.id, limits=limits, now=now, room=len(vectors))
    found = _Clusters.load(s, service_id=service.id, calculator=calculator, size=len(vectors[0]))
    kept = []
    for stranger, vector in zip(strangers, vectors, strict=True):
        placement = clusters.place(found.sums, vector, scale, thresholds)
        cluster_id = found.add(s, vector, placement, now)
        face = UnknownFace(
            service_id=service.id,
            cluster_id=cluster_id,
            embedding=vector.astype("<f4").tobytes(),
            calculator=calculator,
            chip=stranger.picture,
            seen_at=now,
            source=source,
        )
        s.add(face)
        kept.append(face)
    s.flush()
    return [face.id for face in kept]


class _Clusters:
    """A service's clusters of one calculator: their ids, and the sums of their faces'
    normalised embeddings that `clusters.place` reads (the normalised sum is the centroid).
    Summed from the faces at each load rather than stored: a cluster's faces are few, and a
    stored sum would have to follow every face that joins, leaves, is pruned or merged."""

    def __init__(self, service_id: int, calculator: str, rows: Sequence[Any], size: int) -> None:
        self._service_id = service_id
        self._calculator = calculator
        cluster_of = [row.cluster_id for row in rows]
        self._ids: list[int] = sorted(set(cluster_of))
        blob = b"".join(row.embedding for row in rows)
        vectors = np.frombuffer(blob, dtype="<f4").reshape(len(rows), size)
        self.sums = np.zeros((len(self._ids), size), dtype=np.float32)
        position = {cluster_id: i for i, cluster_id in enumerate(self._ids)}
        np.add.at(self.sums, [position[cluster_id] for cluster_id in cluster_of], vectors)

    @classmethod
    def load(cls, s: Session, *, service_id: int, calculator: str, size: int) -> _Clusters:
        """The clusters of embeddings of `size` values."""
        rows = s.execute(
            select(UnknownFace.cluster_id, UnknownFace.embedding).where(
                UnknownFace.service_id == service_id, UnknownFace.calculator == calculator
            )
        ).all()
        return cls(service_id, calculator, rows, size)

    def add(
        self, s: Session, vector: np.ndarray, placement: clusters.Placement, now: datetime
    ) -> int:
        """Count `vector` in the placement's cluster (a new one if none), merge the placement's
        others into it, and return its id."""
        if placement.cluster is None:
            new = insert(UnknownCluster).values(
                service_id=self._service_id,
                calculator=self._calculator,
                created_at=now,
                updated_at=now,
            )
            self._ids.append(s.execute(new.returning(UnknownCluster.id)).scalar_one())
            self.sums = np.vstack([self.sums, np.zeros_like(vector)])
            index = len(self._ids) - 1
        else:
            index = placement.cluster
        self.sums[index] += vector
        target = self._ids[index]
        if placement.merged:
            others = [self._ids[i] for i in placement.merged]
            # Faces move first: deleting a cluster cascades to the faces still in it.
            bulk_write(
                s,
                update(UnknownFace)
                .where(UnknownFace.cluster_id.in_(others))
                .values(cluster_id=target),
            )
            bulk_write(s, delete(UnknownCluster).where(UnknownCluster.id.in_(others)))
            self.sums[index] += self.sums[list(placement.merged)].sum(axis=0)
            kept = [i for i in range(len(self._ids)) if i not in placement.merged]
            self._ids = [self._ids[i] for i in kept]
            self.sums = self.sums[kept]
        bulk_write(
            s,
            update(UnknownCluster).where(UnknownCluster.id == target).values(updated_at=now),
        )
        return target


def prune(s: Session, *, service_id: int, limits: Limits, now: datetime, room: int = 0) -> None:
    """Drop the service's faces older than the age limit, and the oldest past the number
    limit less `room` (faces about to be added); their clusters follow."""
    stale = select(UnknownFace.id).where(UnknownFace.service_id == service_id)
    old = stale.where(UnknownFace.seen_at < now - limits.max_age)
    surplus = stale.order_by(UnknownFace.seen_at.desc(), UnknownFace.id.desc()).offset(
        max(limits.max_faces - room, 0)
    )
    doomed = set(s.scalars(old)) | set(s.scalars(surplus))
    if not doomed:
        return
    bulk_write(s, delete(UnknownFace).where(UnknownFace.id.in_(doomed)))
    emptied = ~select(UnknownFace.id).where(UnknownFace.cluster_id == UnknownCluster.id).exists()
    bulk_write(
        s,
        delete(UnknownCluster).where(UnknownCluster.service_id == service_id, emptied),
    )


def expire(s: Session, *, service: Service, limits: Limits) -> None:
    """Drop the faces past the age limit before a listing, so that faces age out even when no
    new one comes to prune them; nothing is written when none is due."""
    now = utcnow()
    due = select(UnknownFace.id).where(
        UnknownFace.service_id == service.id, UnknownFace.seen_at < now - limits.max_age
    )
    if s.scalar(due.limit(1)) is not None:
        _lock(s, service)
        prune(s, service_id=service.id, limits=limits, now=now)


def list_clusters(s: Session, *, service: Service, min_faces: int = 1) -> list[Cluster]:
    """The service's clusters of at least `min_faces` faces (Immich's minFaces), the most
    recently grown first, each with its faces, newest first."""
    big_enough = (
        select(UnknownFace.cluster_id)
        .where(UnknownFace.service_id == service.id)
        .group_by(UnknownFace.cluster_id)
        .having(func.count() >= min_faces)
    )
    found = list(
        s.scalars(
            select(UnknownCluster)
            .where(UnknownCluster.id.in_(big_enough))
            .order_by(UnknownCluster.updated_at.desc(), UnknownCluster.id.desc())
        )
    )
    faces: dict[int, list[KeptFace]] = {cluster.id: [] for cluster in found}
    rows = s.execute(
        select(UnknownFace.cluster_id, UnknownFace.id, UnknownFace.seen_at)
        .where(UnknownFace.cluster_id.in_(faces))
        .order_by(UnknownFace.seen_at.desc(), UnknownFace.id)
    )
    for cluster_id, face_id, seen_at in rows:
        faces[cluster_id].append(KeptFace(face_id, seen_at))
    return [Cluster(c.id, c.created_at, c.updated_at, faces[c.id]) for c in found]


def picture(s: Session, *, service: Service, face_id: str) -> bytes:
    """The JPEG of a kept face, or UnknownFaceNotFound."""
    chip = None
    if could_be_id(face_id):
        chip = s.scalar(
            select(UnknownFace.chip).where(
                UnknownFace.service_id == service.id, UnknownFace.id == face_id
            )
        )
    if chip is None:
        raise UnknownFaceNotFound(face_id)
    return chip


def name_cluster(
    s: Session, *, service: Service, cluster_id: str, subject: str, keep_pictures: bool
) -> list[str]:
    """Make the cluster's faces examples of `subject` (created if new), with their pictures as
    the examples' photos if `keep_pictures`; the cluster is gone after. Returns the example
    ids."""
    _lock(s, service)
    cluster = _cluster(s, service=service, cluster_id=cluster_id)
    faces = s.execute(
        select(UnknownFace.embedding, UnknownFace.calculator, UnknownFace.chip)
        .where(UnknownFace.cluster_id == cluster.id)
        .order_by(UnknownFace.seen_at, UnknownFace.id)
    ).all()
    added = [
        store.add_example(
            s,
            service=service,
            subject=subject,
            embedding=np.frombuffer(blob, dtype="<f4"),
            calculator=calculator,
            image=chip if keep_pictures else None,
        ).id
        for blob, calculator, chip in faces
    ]
    _drop(s, cluster)
    return added


def dismiss_cluster(s: Session, *, service: Service, cluster_id: str) -> int:
    """Forget the cluster and its faces; returns how many faces."""
    _lock(s, service)
    return _drop(s, _cluster(s, service=service, cluster_id=cluster_id))


def forget(s: Session, *, service: Service) -> None:
    """Delete every kept face and cluster of the service."""
    s.execute(delete(UnknownCluster).where(UnknownCluster.service_id == service.id))
    s.execute(delete(UnknownFace).where(UnknownFace.service_id == service.id))


def _lock(s: Session, service: Service) -> None:
    """Serialise the writes to the service's unknown faces across processes, so a face cannot
    join a cluster that is being named: the service row's lock on PostgreSQL (taken before any
    other, as collection writes take it); on SQLite, which has no row locks, the database's
    write lock, which its first write statement takes."""
    if s.get_bind().dialect.name == "sqlite":
        s.execute(update(Service).where(Service.id == service.id).values(id=Service.id))
    else:
        s.execute(select(Service.id).where(Service.id == service.id).with_for_update())


def _cluster(s: Session, *, service: Service, cluster_id: str) -> UnknownCluster:
    """The service's cluster of this id (as a URL gives it), or ClusterNotFound."""
    cluster = None
    if cluster_id.isascii() and cluster_id.isdigit() and len(cluster_id) < 19:
        cluster = s.scalar(
            select(UnknownCluster).where(
                UnknownCluster.service_id == service.id, UnknownCluster.id == int(cluster_id)
            )
        )
    if cluster is None:
        raise ClusterNotFound(cluster_id)
    return cluster


def _drop(s: Session, cluster: UnknownCluster) -> int:
    """Delete the cluster with its faces; returns how many faces."""
    count = bulk_write(s, delete(UnknownFace).where(UnknownFace.cluster_id == cluster.id))
    s.delete(cluster)
    s.flush()
    return count
