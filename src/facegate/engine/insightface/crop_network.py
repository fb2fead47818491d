"""A network over box-centred face crops (InsightFace's 106-point and gender/age models)."""

from __future__ import annotations

import numpy as np

from facegate.engine import runtime
from facegate.engine.crops import Matrix, box_crop, warp
from facegate.engine.insightface import prelu
from facegate.engine.insightface.model_pack import PackFile
from facegate.engine.options import EngineOptions
from facegate.engine.types import Floats, Pixels

# Without Sub/Mul at the top of the graph, InsightFace models take (x - 127.5) / 128.
MEAN = 127.5
STD = 128.0


class CropNetwork:
    """Cuts a square crop (1.5x the box's longer side) per face and runs all of them at once."""

    def __init__(self, session: runtime.Network, *, takes_raw_pixels: bool) -> None:
        self._session = session
        model_input = session.get_inputs()[0]
        self._input = model_input.name
        self.size = int(model_input.shape[2])
        self._raw = takes_raw_pixels

    @classmethod
    def load(cls, file: PackFile, options: EngineOptions) -> CropNetwork:
        return cls(prelu.session(file, options), takes_raw_pixels=file.takes_raw_pixels)

    def run(self, pixels: Pixels, boxes: Floats) -> tuple[Floats, list[Matrix]]:
        """The network's output row per box, and each crop's image -> crop matrix."""
        matrices = [box_crop(box, self.size) for box in boxes]
        crops = np.stack([warp(pixels, matrix, self.size) for matrix in matrices])
        batch = crops.astype(np.float32).transpose(0, 3, 1, 2)
        if not self._raw:
            batch = (batch - MEAN) / STD
        (output,) = self._session.run(None, {self._input: np.ascontiguousarray(batch)})
        return np.asarray(output, dtype=np.float32).reshape(len(boxes), -1), matrices
