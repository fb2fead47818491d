"""Running face requests: the bounded engine and the typed query that the HTTP handlers, the
re-embedding job and the CLI all call (below `api/`, which only adds HTTP)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from facegate.engine import plugins as face_plugins
from facegate.engine.faces import Analysis, Face
from facegate.engine.similarity import Scale
from facegate.errors import NoFaceFound

if TYPE_CHECKING:
    from facegate.engine.face_engine import FaceEngine


@dataclass(frozen=True)
class Image:
    """One image to analyse: its bytes and the name a client gave it (None for base64)."""

    data: bytes
    filename: str | None


@dataclass(frozen=True)
class FaceQuery:
    """What to detect and what to show: CompreFace's limit, threshold, plugins and status."""

    limit: int = 0
    det_prob_threshold: float | None = None
    plugins: list[str] = field(default_factory=list)
    status: bool = False

    @property
    def show_embedding(self) -> bool:
        # CompreFace strips `embedding` unless the client asked for the calculator plugin.
        return face_plugins.CALCULATOR in self.plugins


class Inference:
    """The face engine behind a bound on concurrent calls: requests queue instead of thrashing."""

    def __init__(self, engine: FaceEngine, max_concurrent: int) -> None:
        self.engine = engine
        self._slots = threading.BoundedSemaphore(max(1, max_concurrent))

    @property
    def calculator_id(self) -> str:
        calculator: str = self.engine.calculator_id
        return calculator

    @property
    def scale(self) -> Scale:
        scale: Scale = self.engine.scale
        return scale

    def faces(
        self,
        image: Image,
        query: FaceQuery,
        *,
        embed: bool = True,
        limit: int | None = None,
        detect: bool = True,
    ) -> Analysis:
        """Faces in `image`, largest first; no face at all is CompreFace's error 28.

        `detect=False` (recognize's `detect_faces=false`) takes the whole image as one face."""
        with self._slots:
            analysis: Analysis = self.engine.analyze(
                image.data,
                det_prob_threshold=query.det_prob_threshold,
                limit=query.limit if limit is None else limit,
                plugins=[slug for slug in query.plugins if slug != face_plugins.CALCULATOR],
                embed=embed or query.show_embedding,
                detect=detect,
            )
        if not analysis.faces:
            raise NoFaceFound()
        return analysis


def embeddings(faces: Sequence[Face]) -> npt.NDArray[np.float32]:
    """The faces' embeddings as rows of one matrix (the calculator ran for each of them)."""
    rows = [face.embedding for face in faces]
    if any(row is None for row in rows):
        raise RuntimeError("the engine returned a face without the embedding it was asked for")
    return np.stack([row for row in rows if row is not None]).astype(np.float32)
