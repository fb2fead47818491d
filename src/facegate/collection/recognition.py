"""Recognition, the face domain's use case: a photo's faces searched in a service's collection,
the faces matched to no one kept (for a service that keeps them), one event per face written and
the request counted (docs/architecture.md, "One photo through /recognize").

The HTTP handlers (one photo, embeddings, a burst) call `Recognitions`, and the Frigate
companion and `facegate recognize-burst` match faces (`Recognitions.matcher`) and the companion
keeps its unknown faces through it; none of them re-states these rules.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session, sessionmaker

from facegate.collection import assignment, bursts, rejections, statistics, unknown
from facegate.collection.search import Match, Search
from facegate.db.tables import Service
from facegate.engine.faces import Analysis, Face
from facegate.engine.similarity import recognised, round5
from facegate.events import outbox
from facegate.inference import FaceQuery, Image, Inference, embeddings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Matching:
    """How faces are matched: `count` subjects shown per face (-1: all), one entry per subject
    (`aggregate=subject`) or per example, and the threshold in force (None: the scale's balance
    point; decisions.md D19, D21)."""

    count: int = 1
    per_subject: bool = False
    min_similarity: float | None = None
    # Each subject given to one face of the photo at most (decisions.md D67).
    unique: bool = False

    @classmethod
    def of(
        cls,
        service: Service,
        *,
        count: int,
        per_subject: bool,
        requested: float | None,
        unique: bool | None,
    ) -> Matching:
        """The request's matching: its `min_similarity`, else the service's; one subject per
        photo as the request says (`unique`), else as the service's `unique_subjects` does."""
        threshold = requested if requested is not None else service.similarity_threshold
        return cls(
            count, per_subject, threshold, service.unique_subjects if unique is None else unique
        )


@dataclass(frozen=True)
class RecognizedFace:
    """One face of the photo and its matches, best first."""

    face: Face
    matches: list[Match]

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    def recognised(self, threshold: float | None) -> bool:
        best = self.best
        return recognised(None if best is None else best.similarity, threshold=threshold)


@dataclass(frozen=True)
class Recognition:
    analysis: Analysis
    faces: list[RecognizedFace]


@dataclass(frozen=True)
class Recognitions:
    """What a recognition needs besides its photo: the engine behind its bound, the service's
    search, the sessions the kept strangers are written with, and their limits."""

    sessions: sessionmaker[Session]
    inference: Inference
    search: Search
    unknown_limits: unknown.Limits

    def photo(
        self,
        s: Session,
        service: Service,
        image: Image,
        *,
        query: FaceQuery,
        matching: Matching,
        detect: bool = True,
        source: str | None = None,
        dry_run: bool = False,
    ) -> Recognition:
        """Recognise the faces of one photo; events and the request count go into `s`, the
        caller's transaction (`source`: who asked, recorded with kept strangers). A `dry_run`
        writes nothing: no stranger kept, no event, not counted (decisions.md D58)."""
        # A service that keeps unknown faces keeps their pictures, cut from the decoded photo.
        keeps = service.keep_unknown_faces and not dry_run
        analysis = self.inference.faces(image, query, detect=detect, pictures=keeps)
        found = self.search_vectors(s, service, embeddings(analysis.faces), matching=matching)
        faces = [RecognizedFace(face, m) for face, m in zip(analysis.faces, found, strict=True)]
        if dry_run:
            return Recognition(analysis, faces)
        threshold = matching.min_similarity
        strangers = [one.face for one in faces if not one.recognised(threshold)]
        # Before the count below, whose upsert would hold SQLite's write lock against this.
        self.keep_strangers(service, strangers, source=source)
        # Cheap inserts in the caller's transaction; the worker delivers them later.
        outbox.publish(s, service=service, events=[_event(one, threshold) for one in faces])
        # Counted last: the upsert locks the day's row until commit, so not during inference.
        statistics.count_request(s, service=service)
        return Recognition(analysis, faces)

    def search_vectors(
        self, s: Session, service: Service, vectors: npt.ArrayLike, *, matching: Matching
    ) -> list[list[Match]]:
        """The matches of each embedding (`/embeddings/recognize`; nothing kept or counted),
        by `matcher`'s rules."""
        return self.matcher(s, service, matching)(np.asarray(vectors, dtype=np.float32))

    def matcher(self, s: Session, service: Service, matching: Matching) -> bursts.Matcher:
        """How one photo's faces (their embeddings) are matched in `service`: the search less
        the subjects the service's rejections take from each face (decisions.md D66) and, with
        `matching.unique`, each subject given to one face at most (D67). One photo, a burst's
        every frame and the Frigate companion's snapshots all match through it. The rejections
        are read now, once, in the caller's session rather than a second pooled connection per
        search; the matcher needs no session after."""
        rejected = rejections.load(s, service=service, calculator=self.inference.calculator_id)

        def match(vectors: npt.NDArray[np.float32]) -> list[list[Match]]:
            return assignment.recognise(
                self.search,
                service,
                vectors,
                k=matching.count,
                per_subject=matching.per_subject,
                min_similarity=matching.min_similarity,
                rejections=rejected,
                unique=matching.unique,
                scale=self.inference.scale,
            )

        return match

    def burst(
        self,
        s: Session,
        service: Service,
        frames: Sequence[Image],
        *,
        query: FaceQuery,
        matching: Matching,
        source: str | None = None,
    ) -> bursts.Burst:
        """Recognise a burst of frames as tracks (decisions.md D40), each frame's faces matched
        as one photo's are (`matcher`): an unknown track's best face kept, one event per track,
        the request counted once."""
        burst = bursts.recognize(
            self.inference,
            frames,
            query=query,
            match=self.matcher(s, service, matching),
            min_similarity=matching.min_similarity,
            pictures=service.keep_unknown_faces,
        )
        unknown_tracks = [track for track in burst.tracks if track.verdict.subject is None]
        self.keep_strangers(service, [track.best.face for track in unknown_tracks], source=source)
        outbox.publish(s, service=service, events=[track_event(t) for t in burst.tracks])
        statistics.count_request(s, service=service)
        return burst

    def keep_strangers(
        self, service: Service, faces: Sequence[Face], *, source: str | None
    ) -> None:
        """Keep faces matched to no one, if the service keeps them (their pictures were cut by
        the engine). In a transaction of its own, committed before the recognition's answer; a
        failure is logged and the recognition still answered (decisions.md D26): the kept
        faces are a by-product, never worth a client's failed request."""
        if not service.keep_unknown_faces:
            return
        strangers = [
            unknown.Stranger(face.embedding, face.picture)
            for face in faces
            if face.embedding is not None and face.picture is not None
        ]
        if not strangers:
            return
        try:
            with self.sessions.begin() as s:
                unknown.keep(
                    s,
                    service=service,
                    strangers=strangers,
                    calculator=self.inference.calculator_id,
                    scale=self.inference.scale,
                    thresholds=self.inference.cluster_thresholds,
                    limits=self.unknown_limits,
                    source=source,
                )
        except Exception:  # any failure: the recognition is answered all the same (docstring)
            log.exception("could not keep the unknown faces of service %s", service.guid)


def _event(face: RecognizedFace, threshold: float | None) -> tuple[str, dict[str, object]]:
    """A face as an event: recognised or not by its best match against the threshold in
    force, as unknown faces are told apart (docs/events.md)."""
    best = face.best
    return outbox.face_event(
        box=face.face.box.as_json(rounded=True),
        subject=None if best is None else best.subject,
        similarity=None if best is None else round5(best.similarity),
        threshold=threshold,
    )


def track_event(track: bursts.Track) -> tuple[str, dict[str, object]]:
    """A track as a `face.recognized` or `face.unrecognized` event (docs/events.md): its
    answer by the vote (an unknown track names its closest match), the box of its best frame
    and the frames it was seen in."""
    verdict = track.verdict
    similarity = verdict.similarity
    data: dict[str, object] = {
        "subject": verdict.subject or verdict.closest,
        "similarity": None if similarity is None else round5(similarity),
        "box": track.best.face.box.as_json(rounded=True),
        "frames": len(track.evidence),
    }
    return (outbox.FACE_RECOGNIZED if verdict.subject else outbox.FACE_UNRECOGNIZED), data
