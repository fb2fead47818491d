"""`OnnxEmbedder`: dlib's face descriptor network run by ONNX Runtime, from the file that
`facegate.engine.convert.dlib.model_file` converts once into the data directory (float32, or
quantised to int8 with `precision` int8)."""

from __future__ import annotations

import numpy as np

from facegate.engine import runtime
from facegate.engine.convert.dlib.export import INPUT_NAME
from facegate.engine.convert.dlib.model_file import load_model
from facegate.engine.dlib.embedder import (
    DIMENSIONS,
    DLIB_RESNET_V1,
    Chips,
    Embeddings,
)
from facegate.engine.dlib.landmarks import CHIP_SIZE
from facegate.engine.options import EngineOptions


class OnnxEmbedder:
    """The `Embedder` running dlib's ResNet on ONNX Runtime; vectors equal dlib's within 1e-6
    in float32 (int8: docs/performance.md "int8")."""

    model_id = DLIB_RESNET_V1

    def __init__(self, session: runtime.Network) -> None:
        self._session = session

    @classmethod
    def create(cls, options: EngineOptions) -> OnnxEmbedder:
        return cls(runtime.create_session(load_model(options), options=options))

    def embed(self, chips: Chips) -> Embeddings:
        """Descriptors of aligned uint8 RGB chips [N, 150, 150, 3], all in one run."""
        if chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"expected chips of shape [N, 150, 150, 3], got {chips.shape}")
        if len(chips) == 0:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        chips = np.ascontiguousarray(chips, dtype=np.uint8)
        (vectors,) = self._session.run(None, {INPUT_NAME: chips})
        return np.asarray(vectors, dtype=np.float32)
