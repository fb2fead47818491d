"""What switching model sets would change (`facegate models compare --to MODEL`): leave-one-out
recognition on each service's stored examples, under the current model and another one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.collection import reads
from facegate.collection.reembed import photo_embedding
from facegate.db.tables import Example, ExampleImage, Service, Subject
from facegate.engine.face_engine import FaceEngine
from facegate.engine.similarity import Scale, normalize, recognised
from facegate.errors import FacegateError
from facegate.inference import Inference

Floats = npt.NDArray[np.float32]
UNKNOWN = None  # no other example scores BALANCE or more


@dataclass(frozen=True)
class Prediction:
    subject: str | None  # the best other example's subject, or UNKNOWN
    similarity: float  # of the best other example (0 when there is none)


@dataclass(frozen=True)
class StoredExample:
    id: str
    subject: str
    embeddings: dict[str, bytes]  # calculator -> float32 bytes
    photo: bytes | None


@dataclass(frozen=True)
class ExampleOutcome:
    example: StoredExample
    current: Prediction
    other: Prediction

    def right(self, prediction: Prediction, counts: Counter[str]) -> bool:
        """Right means: the subject, when it has other examples; UNKNOWN when it has none."""
        expected = self.example.subject if counts[self.example.subject] > 1 else UNKNOWN
        return prediction.subject == expected


@dataclass(frozen=True)
class ServiceComparison:
    service: str
    outcomes: list[ExampleOutcome]
    without_photo: int  # examples left out: no photo to embed with the other model

    def right(self, which: str) -> int:
        counts = Counter(o.example.subject for o in self.outcomes)
        return sum(o.right(getattr(o, which), counts) for o in self.outcomes)

    def disagreements(self) -> list[ExampleOutcome]:
        return [o for o in self.outcomes if o.current.subject != o.other.subject]


def leave_one_out(vectors: Floats, subjects: Sequence[str], scale: Scale) -> list[Prediction]:
    """For each row, the subject of the most similar other row (UNKNOWN under BALANCE)."""
    normed = normalize(vectors)
    predictions = []
    for i in range(len(normed)):
        others = np.delete(np.arange(len(normed)), i)
        if len(others) == 0:
            predictions.append(Prediction(UNKNOWN, 0.0))
            continue
        scores = scale.similarities(normed[i], normed[others])
        best = int(np.argmax(scores))
        score = float(scores[best])
        subject = subjects[others[best]] if recognised(score, threshold=None) else UNKNOWN
        predictions.append(Prediction(subject, score))
    return predictions


def stored_examples(s: Session, service: Service) -> Iterator[StoredExample]:
    embeddings = reads.service_embeddings(s, service_id=service.id)
    rows = s.execute(
        select(Example.id, Subject.name, ExampleImage.data)
        .join(Subject, Subject.id == Example.subject_id)
        .outerjoin(ExampleImage, ExampleImage.example_id == Example.id)
        .where(Subject.service_id == service.id)
        .order_by(Subject.name, Example.id)
    )
    for example_id, subject, photo in rows:
        yield StoredExample(example_id, subject, embeddings.get(example_id, {}), photo)


def _vectors(examples: Sequence[StoredExample], engine: FaceEngine) -> list[Floats | None]:
    """Each example's embedding under `engine`: stored when that model made it, else from its
    photo as `facegate migrate` would make it (None without a photo or a face)."""
    inference = Inference(engine, 1)
    vectors: list[Floats | None] = []
    for example in examples:
        if (blob := example.embeddings.get(engine.calculator_id)) is not None:
            vectors.append(reads.as_vector(blob))
        elif example.photo is None:
            vectors.append(None)
        else:
            try:
                vectors.append(photo_embedding(inference, example.photo))
            except FacegateError:
                vectors.append(None)
    return vectors


def compare_service(
    name: str, examples: Sequence[StoredExample], current: FaceEngine, other: FaceEngine
) -> ServiceComparison:
    """Leave-one-out on the examples both models can embed (those with a photo and a face)."""
    with_photo = [e for e in examples if e.photo is not None]
    both = [
        (example, a, b)
        for example, a, b in zip(
            with_photo, _vectors(with_photo, current), _vectors(with_photo, other), strict=True
        )
        if a is not None and b is not None
    ]
    outcomes: list[ExampleOutcome] = []
    if both:
        kept = [example for example, _, _ in both]
        subjects = [example.subject for example in kept]
        on_current = leave_one_out(np.stack([a for _, a, _ in both]), subjects, current.scale)
        on_other = leave_one_out(np.stack([b for _, _, b in both]), subjects, other.scale)
        outcomes = [ExampleOutcome(*row) for row in zip(kept, on_current, on_other, strict=True)]
    return ServiceComparison(name, outcomes, len(examples) - len(outcomes))
