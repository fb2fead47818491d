"""Re-embedding stored examples with the current model set (`facegate migrate`, POST
/api/v1/migrate): one example per transaction, so a kill loses nothing and a rerun resumes.

Each example keeps its id, subject and photo; only its embedding and calculator change, in one
commit, so an example is never duplicated or half-migrated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from facegate.collection import flags, reads, store
from facegate.engine.faces import Embedding
from facegate.errors import FacegateError, MigrationImpossible, MigrationRunning, NoFaceFound
from facegate.inference import FaceQuery, Image, Inference, embeddings

log = logging.getLogger(__name__)

# Called after each example with (examples handled so far, examples to handle).
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Outcome:
    reembedded: int
    skipped: list[str]  # examples whose photo no longer yields a face: they keep the old one


def start(session: Session, *, calculator: str) -> None:
    """Take the migration flag (visible to every process), after checking every example to
    re-embed kept its photo. Raises MigrationImpossible or MigrationRunning."""
    without_photo = reads.stale_count(session, calculator=calculator, without_photo=True)
    if without_photo:
        raise MigrationImpossible(without_photo)
    if not flags.take_flag(session, name=flags.MIGRATION_FLAG):
        raise MigrationRunning()


def photo_embedding(inference: Inference, photo: bytes) -> Embedding:
    """A stored example's embedding under `inference`'s model: its largest face at the model's
    default threshold, or else at any score (the photo was accepted as a face once, by another
    detector). Raises NoFaceFound when the model finds none at all."""
    image = Image(photo, None)
    try:
        faces = inference.faces(image, FaceQuery(), limit=1).faces
    except NoFaceFound:
        faces = inference.faces(image, FaceQuery(det_prob_threshold=0.0), limit=1).faces
    embedding: Embedding = embeddings(faces)[0]
    return embedding


def migrate(
    sessions: sessionmaker[Session], inference: Inference, progress: Progress | None = None
) -> Outcome:
    """Re-embed every example made by another calculator, after `start` committed the flag;
    drops the flag at the end, whatever happens (an interrupt too)."""
    reembedded, skipped = 0, []
    try:
        with sessions() as s:
            pending = reads.stale_examples(s, calculator=inference.calculator_id)
        for done, example_id in enumerate(pending, start=1):
            with sessions() as s, s.begin():
                flags.refresh_flag(s, name=flags.MIGRATION_FLAG)
                data = reads.stored_image(s, example_id=example_id)
                if data is not None:
                    try:
                        embedding = photo_embedding(inference, data)
                    except FacegateError as exc:  # no face any more: keep the old embedding
                        log.warning("migration skipped example %s: %s", example_id, exc.message)
                        skipped.append(example_id)
                    else:
                        store.add_embedding(
                            s,
                            example_id=example_id,
                            embedding=embedding,
                            calculator=inference.calculator_id,
                        )
                        reembedded += 1
            if progress is not None:
                progress(done, len(pending))
        log.info("Migration finished: %d re-embedded, %d skipped", reembedded, len(skipped))
        return Outcome(reembedded, skipped)
    finally:
        with sessions() as s, s.begin():
            flags.drop_flag(s, name=flags.MIGRATION_FLAG)
