"""Face embeddings: the `Embedder` protocol and dlib's ResNet run by dlib itself."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

import dlib
import numpy as np
import numpy.typing as npt

from facegate.engine.model_files import dlib_model

Chips = npt.NDArray[np.uint8]
Embeddings = npt.NDArray[np.float32]

# Both runtimes of dlib's network (dlib here, ONNX in onnx_embedder.py) give the same vectors,
# so stored embeddings stay comparable whichever one computed them.
DLIB_RESNET_V1 = "dlib-resnet-v1"
DIMENSIONS = 128
MODEL_NAME = "dlib_face_recognition_resnet_model_v1"


def source_path() -> Path:
    """dlib's serialized network (OnnxEmbedder converts this same file)."""
    return dlib_model(f"{MODEL_NAME}.dat")


class Embedder(Protocol):
    """Turns aligned face chips into embeddings; `model_id` is recorded with each embedding."""

    model_id: str

    def embed(self, chips: Chips) -> Embeddings:
        """(N, 150, 150, 3) uint8 RGB chips from `Aligner.chips` -> (N, 128) float32."""
        ...


class DlibEmbedder:
    """dlib's face recognition ResNet (dlib_face_recognition_resnet_model_v1.dat)."""

    model_id = DLIB_RESNET_V1

    def __init__(self, model: dlib.face_recognition_model_v1) -> None:
        self._model = model
        # A dlib network keeps its activations inside the object: one forward pass at a time.
        self._lock = threading.Lock()

    @classmethod
    def load(cls) -> DlibEmbedder:
        return cls(dlib.face_recognition_model_v1(str(source_path())))

    def embed(self, chips: Chips) -> Embeddings:
        if len(chips) == 0:
            return np.empty((0, DIMENSIONS), dtype=np.float32)
        with self._lock:
            vectors = self._model.compute_face_descriptor(list(chips))
        return np.asarray([np.asarray(v) for v in vectors], dtype=np.float32)
