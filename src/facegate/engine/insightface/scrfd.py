"""SCRFD face detection (InsightFace packs): letterboxing, one ONNX run, distance decoding, NMS."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import numpy.typing as npt
from PIL import Image

from facegate.engine import geometry
from facegate.engine.detection import LookingDetector
from facegate.engine.types import Detections, Floats, Pixels

# SCRFD's training normalisation (InsightFace `scrfd.py`): RGB, (x - 127.5) / 128.
MEAN = 127.5
STD = 128.0
# Two anchors per feature-map cell; a level's stride is 8 * 2**i (3 or 5 levels).
ANCHORS_PER_CELL = 2
BOX_VALUES = 4
POINT_VALUES = 10


class ScrfdDetector(LookingDetector):
    """Finds faces with an SCRFD network whose outputs are score/box/keypoint groups per stride.

    An image whose longer side exceeds `max_detect_size` is scaled down to it; a smaller one is
    never scaled up (InsightFace letterboxes every image to 640, a 250 px photo 2.5x: 6.6x the
    pixels for the same faces, docs/decisions.md D75); `fine_detect_size`, when larger, is a
    second look for small faces (`LookingDetector`). Both are padded right and bottom to
    multiples of 32, as the strided feature maps need.
    """

    FILL = (128, 128, 128)

    @cached_property
    def _outputs(self) -> tuple[tuple[int, ...], list[str]]:
        """The levels' strides and the output names, read once from the session: outputs come
        grouped, every level's scores, then boxes, then keypoints."""
        names = [output.name for output in self._session.get_outputs()]
        return tuple(8 * 2**i for i in range(len(names) // 3)), names

    def look(self, pixels: Pixels, max_side: int, threshold: float) -> Detections:
        batch, scale = self.prepare(pixels, max_side)
        strides, names = self._outputs
        # One image: drop the batch axis where the export kept one.
        outputs = [
            o[0] if o.ndim == 3 else o for o in self._session.run(names, {self._input: batch})
        ]
        levels = len(strides)
        found = decode(
            outputs[:levels],
            outputs[levels : 2 * levels],
            outputs[2 * levels :],
            strides=strides,
            height=batch.shape[2],
            width=batch.shape[3],
            threshold=threshold,
        )
        return found.scaled(1.0 / scale)

    def prepare(
        self, pixels: npt.NDArray[np.uint8], max_side: int | None = None
    ) -> tuple[Floats, float]:
        """RGB uint8 (H, W, 3) -> padded network input (1, 3, h, w) and the factor applied; the
        longer side at most `max_side` (the detection size unless given)."""
        height, width = pixels.shape[:2]
        limit = self._max_side if max_side is None else max_side
        scale = min(1.0, limit / max(height, width))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if size != (width, height):
            # Area averaging (BOX), as RetinaFace's shrink: antialiased and Pillow's cheapest.
            pixels = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BOX))
        padded_h, padded_w = (-(-side // 32) * 32 for side in pixels.shape[:2])
        batch = np.zeros((1, 3, padded_h, padded_w), dtype=np.float32)
        view = batch[0, :, : pixels.shape[0], : pixels.shape[1]]
        np.subtract(pixels.transpose(2, 0, 1), MEAN, out=view)
        view /= STD
        # The factor actually applied per axis differs by rounding; width's is the reference.
        return batch, size[0] / width


def anchor_centers(height: int, width: int, stride: int) -> Floats:
    """(x, y) of every anchor of one level, row by row, each cell's point repeated per anchor."""
    rows, cols = height // stride, width // stride
    ys, xs = np.mgrid[:rows, :cols]
    centers = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32) * stride
    return np.repeat(centers, ANCHORS_PER_CELL, axis=0)


def decode(
    scores: list[Floats],
    boxes: list[Floats],
    points: list[Floats],
    *,
    strides: tuple[int, ...],
    height: int,
    width: int,
    threshold: float,
) -> Detections:
    """Per-level outputs for one image -> NMS-filtered detections in input pixels.

    Boxes are distances (left, top, right, bottom) from the anchor centre and keypoints offsets
    from it, both in units of the level's stride.
    """
    all_boxes, all_scores, all_points = [], [], []
    for stride, score, box, point in zip(strides, scores, boxes, points, strict=True):
        centers = anchor_centers(height, width, stride)
        if centers.shape[0] != score.shape[0]:
            raise ValueError(f"{score.shape[0]} outputs for {centers.shape[0]} anchors")
        level_scores = score.reshape(-1)
        keep = np.flatnonzero(level_scores > max(threshold, geometry.MIN_SCORE))
        distances = box[keep] * stride
        anchor = centers[keep]
        all_boxes.append(np.hstack([anchor - distances[:, :2], anchor + distances[:, 2:]]))
        offsets = point[keep].reshape(-1, 5, 2) * stride
        all_points.append(anchor[:, None, :] + offsets)
        all_scores.append(level_scores[keep])
    merged_scores = np.concatenate(all_scores).astype(np.float32)
    order = np.argsort(-merged_scores, kind="stable")[: geometry.MAX_CANDIDATES]
    found = Detections(
        np.concatenate(all_boxes).astype(np.float32)[order],
        merged_scores[order],
        np.concatenate(all_points).astype(np.float32)[order],
    )
    return found.take(geometry.nms(found.boxes, found.scores, geometry.NMS_IOU))
