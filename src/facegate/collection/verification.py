"""Verification, the face domain's other use case: how alike faces are, photo against photo,
photo against one stored example, embeddings against either (decisions.md C1.7). Every scoring
is `similarities`: the model set's scale on normalised embeddings, never re-stated by a caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from facegate.collection import reads, statistics, store
from facegate.db.tables import Example, Service
from facegate.engine.faces import Analysis
from facegate.engine.similarity import Scale, normalize
from facegate.engine.types import Floats
from facegate.errors import EmbeddedByOtherModel, ExampleNotFound, ImageIdIncorrect, TooManyFaces
from facegate.inference import FaceQuery, Image, Inference, embeddings


def similarities(scale: Scale, reference: npt.ArrayLike, candidates: npt.ArrayLike) -> Floats:
    """How alike each of `candidates` is to `reference` (raw embeddings, any length > 0)."""
    return scale.similarities(normalize(reference), normalize(np.atleast_2d(candidates)))


@dataclass(frozen=True)
class Verification:
    """A source photo's one face, a target photo's faces, and each target face's score."""

    source: Analysis
    target: Analysis
    scores: Floats


def photos(
    s: Session,
    inference: Inference,
    service: Service,
    source: Image,
    target: Image,
    *,
    query: FaceQuery,
    dry_run: bool = False,
) -> Verification:
    """Score every face of `target` against the one face of `source` (two or more there: error
    TooManyFaces); the request is counted in `s`, unless it is a `dry_run` (decisions.md D58)."""
    found = inference.faces(source, query, limit=2)
    if len(found.faces) > 1:
        raise TooManyFaces()
    faces = inference.faces(target, query)
    scores = similarities(inference.scale, embeddings(found.faces)[0], embeddings(faces.faces))
    if not dry_run:
        # Counted last: the upsert locks the day's row until commit, so not during inference.
        statistics.count_request(s, service=service)
    return Verification(found, faces, scores)


@dataclass(frozen=True)
class ExampleVerification:
    example: Example
    analysis: Analysis
    scores: Floats


def photo_against_example(
    s: Session,
    inference: Inference,
    service: Service,
    image: Image,
    *,
    example_id: str,
    query: FaceQuery,
) -> ExampleVerification:
    """Score every face of `image` against one stored example. CompreFace looks the example up
    after detection, so "no face" (28) wins over a bad id."""
    analysis = inference.faces(image, query)
    example, vector = example_embedding(
        s, service, example_id=example_id, calculator=inference.calculator_id
    )
    scores = similarities(inference.scale, vector, embeddings(analysis.faces))
    return ExampleVerification(example, analysis, scores)


def example_embedding(
    s: Session, service: Service, *, example_id: str, calculator: str
) -> tuple[Example, npt.NDArray[np.float32]]:
    """The example to verify against and its embedding by `calculator`; an unknown id is "Image
    Id is incorrect" here, and an example that only another model embedded (not migrated yet)
    cannot be compared."""
    try:
        example = store.get_example(s, service=service, example_id=example_id)
    except ExampleNotFound:
        raise ImageIdIncorrect() from None
    vector = reads.vector(s, example_id=example.id, calculator=calculator)
    if vector is None:
        others = reads.models_of(s, example_id=example.id)
        raise EmbeddedByOtherModel(", ".join(others), calculator)
    return example, vector
