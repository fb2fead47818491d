"""/api/v1/migrate: re-embed stored photos with the current calculator, one example at a time."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from facegate import flags, store
from facegate.api.deps import Inference, embeddings
from facegate.api.params import FaceQuery, Image
from facegate.errors import FacegateError

log = logging.getLogger(__name__)


def start(session: Session) -> bool:
    """Take the migration flag (visible to every process); False if a migration runs already."""
    return flags.take_flag(session, name=flags.MIGRATION_FLAG)


def migrate(sessions: sessionmaker[Session], inference: Inference) -> int:
    """Re-embed every example made by another calculator; returns how many were updated.

    Runs after `start` committed the flag; drops the flag at the end, whatever happens.
    """
    updated = 0
    try:
        with sessions() as s:
            pending = store.stale_examples(s, calculator=inference.calculator_id)
        for example_id in pending:
            with sessions() as s, s.begin():
                flags.refresh_flag(s, name=flags.MIGRATION_FLAG)
                data = store.stored_image(s, example_id=example_id)
                if data is None:
                    continue
                try:
                    faces = inference.faces(Image(data, None), FaceQuery(), limit=1).faces
                except FacegateError as exc:  # the photo no longer yields a face: keep the old one
                    log.warning("migration skipped example %s: %s", example_id, exc.message)
                    continue
                store.replace_embedding(
                    s,
                    example_id=example_id,
                    embedding=embeddings(faces)[0],
                    calculator=inference.calculator_id,
                )
                updated += 1
        log.info("Migration successfully finished (%d examples re-embedded)", updated)
        return updated
    finally:
        with sessions() as s, s.begin():
            flags.drop_flag(s, name=flags.MIGRATION_FLAG)
