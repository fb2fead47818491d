"""Running face requests: the bounded engine and the typed query that the HTTP handlers, the
re-embedding job and the CLI all call (below `api/`, which only adds HTTP)."""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from facegate.engine import plugins as face_plugins
from facegate.engine.faces import Analysis, Face, FaceRequest
from facegate.engine.similarity import ClusterThresholds, Scale
from facegate.errors import FileTooLarge, InferenceQueueFull, NoFaceFound
from facegate.metrics import FACES, INFERENCE_RUNNING, INFERENCE_WAITING, STAGE_SECONDS

if TYPE_CHECKING:
    from facegate.engine.faces import FaceAnalyzer


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


class Inference:
    """The face engine behind a bound on concurrent calls and on the requests waiting for one:
    requests queue instead of thrashing, and past the queue are refused at once (503 with
    Retry-After) instead of waiting without end (docs/performance.md, "Many clients")."""

    def __init__(
        self,
        engine: FaceAnalyzer,
        max_concurrent: int,
        *,
        max_queued: int | None = None,
        max_file_size: int | None = None,
    ) -> None:
        """`max_queued` (None: no bound, for the CLI and the re-embedding job); `max_file_size`
        (bytes; None: photos already accepted once, such as stored ones)."""
        self.engine = engine
        self._concurrent = max(1, max_concurrent)
        self._slots = threading.BoundedSemaphore(self._concurrent)
        self._max_queued = max_queued
        self._max_file_size = max_file_size
        self._lock = threading.Lock()
        self._admitted = 0  # running plus waiting
        self._seconds_per_call = 0.1  # a running mean, for Retry-After

    @property
    def running(self) -> int:
        """Requests holding an inference slot (or about to)."""
        with self._lock:
            return min(self._admitted, self._concurrent)

    @property
    def waiting(self) -> int:
        """Requests admitted but not yet given a slot."""
        with self._lock:
            return max(0, self._admitted - self._concurrent)

    def unqueued(self) -> Inference:
        """The same engine and slots for a background job (the /migrate re-embedding), which
        waits its turn however long the queue and is never refused."""
        twin = copy.copy(self)
        twin._max_queued = None
        twin._lock = threading.Lock()
        twin._admitted = 0
        return twin

    def _admit(self) -> None:
        with self._lock:
            waiting = self._admitted - self._concurrent
            if self._max_queued is not None and waiting >= self._max_queued:
                # The queue drains `concurrent` calls at a time: the wait of its last place.
                drain = (waiting + 1) * self._seconds_per_call / self._concurrent
                raise InferenceQueueFull(waiting, max(1, math.ceil(drain)))
            self._admitted += 1
            # Moved by steps rather than set, so the re-embedding twin's requests add to them.
            (INFERENCE_WAITING if self._admitted > self._concurrent else INFERENCE_RUNNING).inc()

    def _done(self, seconds: float | None) -> None:
        with self._lock:
            (INFERENCE_WAITING if self._admitted > self._concurrent else INFERENCE_RUNNING).dec()
            self._admitted -= 1
            if seconds is not None:
                self._seconds_per_call += (seconds - self._seconds_per_call) / 8

    @property
    def calculator_id(self) -> str:
        calculator: str = self.engine.calculator_id
        return calculator

    @property
    def dimensions(self) -> int:
        """The length of the engine's embeddings."""
        dimensions: int = self.engine.dimensions
        return dimensions

    @property
    def scale(self) -> Scale:
        scale: Scale = self.engine.scale
        return scale

    @property
    def cluster_thresholds(self) -> ClusterThresholds:
        thresholds: ClusterThresholds = self.engine.cluster_thresholds
        return thresholds

    def faces(
        self,
        image: Image,
        query: FaceQuery,
        *,
        embed: bool = True,
        limit: int | None = None,
        detect: bool = True,
        pictures: bool = False,
    ) -> Analysis:
        """Faces in `image`, largest first; no face at all is CompreFace's error 28.

        `embed` computes embeddings whether or not the client asked to see them (recognize and
        verify need them); `limit` overrides the query's (add-example and verify take two faces
        to tell one from many); `detect=False` (recognize's `detect_faces=false`) takes the
        whole image as one face; `pictures` cuts each face's small JPEG (`Face.picture`)."""
        # The one check of an image file's size, for every caller (CompreFace: 413, code 21).
        if self._max_file_size is not None and len(image.data) > self._max_file_size:
            raise FileTooLarge(
                f"The image file is {len(image.data)} bytes; the maximum is "
                f"{self._max_file_size} bytes (max_file_size)"
            )
        request = FaceRequest(
            plugins=frozenset(query.plugins) | ({face_plugins.CALCULATOR} if embed else set()),
            det_prob_threshold=query.det_prob_threshold,
            limit=query.limit if limit is None else limit,
            detect=detect,
            pictures=pictures,
        )
        self._admit()
        seconds = None
        try:
            with self._slots:
                started = time.perf_counter()
                analysis: Analysis = self.engine.analyze(image.data, request)
                seconds = time.perf_counter() - started
        finally:
            self._done(seconds)
        _observe(analysis)
        if not analysis.faces:
            raise NoFaceFound()
        return analysis


def _observe(analysis: Analysis) -> None:
    """The engine's stage timings (ms) and face count of one image, for /metrics."""
    for stage, ms in analysis.timings.items():
        STAGE_SECONDS.labels(stage).observe(ms / 1000)
    FACES.observe(len(analysis.faces))


def embeddings(faces: Sequence[Face]) -> npt.NDArray[np.float32]:
    """The faces' embeddings as rows of one matrix (the calculator ran for each of them)."""
    rows = [face.embedding for face in faces]
    if any(row is None for row in rows):
        raise RuntimeError("the engine returned a face without the embedding it was asked for")
    return np.stack([row for row in rows if row is not None]).astype(np.float32)
