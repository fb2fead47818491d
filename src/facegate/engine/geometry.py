"""Face geometry as pure numpy: RetinaFace anchors and decoding, NMS, and pose from 5 landmarks."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from facegate.engine.faces import Pose
from facegate.engine.types import Detections, Floats, Pixels

# RetinaFace-MobileNet0.25 (biubug6/Pytorch_Retinaface `cfg_mnet`): one feature map per stride,
# two square anchors per cell, and the variances used to encode offsets during training.
STRIDES = (8, 16, 32)
ANCHOR_SIZES = ((16, 32), (64, 128), (256, 512))
VARIANCES = (0.1, 0.2)

# Both detectors' decoding: overlap above which the lower-scoring box goes.
NMS_IOU = 0.4
# Candidates below this score are never faces at any sensible threshold; skipping them keeps
# NMS cheap when a caller asks for det_prob_threshold=0.
MIN_SCORE = 0.02
MAX_CANDIDATES = 5000

# When nothing passes the threshold the detectors look again at the photo framed by a border of
# this share of its longer side on each side (docs/models.md "Detection recall"): a face that
# fills a tight crop (LFW's) is, once scaled to the detection size, larger than the faces the
# networks learnt, and cut by the frame; framed, it is neither.
SECOND_LOOK_BORDER = 0.5
# The finer look for small faces adds only faces under this width at the first look's scale:
# larger ones the first look finds, or rightly refuses. At the finer scale RetinaFace found
# three large false faces in shared/faces (wide textures on big photos) and none small
# (docs/models.md "Detection recall"); RetinaFace's smallest anchor is 16 px.
FINE_FACES_UNDER = 32


def looks(
    look: Callable[[Pixels, int], Detections],
    pixels: Pixels,
    *,
    size: int,
    fine_size: int,
    fill: tuple[int, int, int],
) -> Detections:
    """A detector's looks at a photo, `look(pixels, longer side)` each, in `pixels` coordinates:

    - at the detection size `size`;
    - for a photo larger than that, at `fine_size` too when it is larger still (0: never),
      adding the faces too small for the first look (`FINE_FACES_UNDER`): small faces in large
      photos (docs/models.md "Detection recall");
    - when neither finds a face, at the photo framed by a border of `fill` (the colour the
      network's input normalises to zero), at `size` (decisions.md D61).
    """
    found = look(pixels, size)
    longer = max(pixels.shape[:2])
    if fine_size > size and longer > size:
        finer = look(pixels, fine_size)
        widths = (finer.boxes[:, 2] - finer.boxes[:, 0]) * (size / longer)
        found = merged(found, finer.take(np.flatnonzero(widths < FINE_FACES_UNDER)))
    if len(found):
        return found
    height, width = pixels.shape[:2]
    border = round(max(height, width) * SECOND_LOOK_BORDER)
    framed = np.empty((height + 2 * border, width + 2 * border, 3), dtype=np.uint8)
    framed[...] = fill
    framed[border : border + height, border : border + width] = pixels
    return look(framed, size).shifted(-border)


def merged(first: Detections, second: Detections) -> Detections:
    """Two looks' detections as one, highest score first: where boxes of both overlap (NMS_IOU),
    the higher-scoring one stays."""
    both = Detections(
        np.concatenate([first.boxes, second.boxes]),
        np.concatenate([first.scores, second.scores]),
        np.concatenate([first.landmarks, second.landmarks]),
    )
    return both.take(nms(both.boxes, both.scores, NMS_IOU))


@lru_cache(maxsize=32)
def prior_boxes(height: int, width: int) -> Floats:
    """Anchors (cx, cy, w, h) in pixels for an input of this size, in the network's order.

    The order is stride, then row, then column, then anchor size, matching how the network
    concatenates its per-level outputs. Feature maps are ceil(side / stride) cells, as the
    stride-2 convolutions with padding 1 produce.
    """
    levels = []
    for stride, sizes in zip(STRIDES, ANCHOR_SIZES, strict=True):
        rows, cols = math.ceil(height / stride), math.ceil(width / stride)
        cy, cx = np.meshgrid(
            (np.arange(rows, dtype=np.float32) + 0.5) * stride,
            (np.arange(cols, dtype=np.float32) + 0.5) * stride,
            indexing="ij",
        )
        for_cell = np.stack([cx.ravel(), cy.ravel()], axis=1)  # (cells, 2)
        for_cell = np.repeat(for_cell, len(sizes), axis=0)
        side = np.tile(np.asarray(sizes, dtype=np.float32), rows * cols)[:, None]
        levels.append(np.hstack([for_cell, side, side]))
    priors = np.concatenate(levels).astype(np.float32)
    priors.setflags(write=False)
    return priors


def decode_boxes(loc: Floats, priors: Floats) -> Floats:
    """Network box offsets (N, 4) -> corner boxes (x_min, y_min, x_max, y_max) in pixels."""
    centers = priors[:, :2] + loc[:, :2] * VARIANCES[0] * priors[:, 2:]
    sizes = priors[:, 2:] * np.exp(loc[:, 2:] * VARIANCES[1])
    return np.hstack([centers - sizes / 2, centers + sizes / 2]).astype(np.float32)


def decode_landmarks(pre: Floats, priors: Floats) -> Floats:
    """Network landmark offsets (N, 10) -> (N, 5, 2) points in pixels."""
    offsets = pre.reshape(-1, 5, 2)
    points = priors[:, None, :2] + offsets * VARIANCES[0] * priors[:, None, 2:]
    return points.astype(np.float32)


def nms(boxes: Floats, scores: Floats, iou_threshold: float) -> npt.NDArray[np.intp]:
    """Greedy non-maximum suppression; indices of kept boxes, highest score first."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size:
        best, rest = int(order[0]), order[1:]
        keep.append(best)
        x1 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[best, 3], boxes[rest, 3])
        overlap = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        iou = overlap / (areas[best] + areas[rest] - overlap + 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.intp)


# Pose from the five detector landmarks (left eye, right eye, nose, left and right mouth corners).
# A weak-perspective model of an average face: eyes and mouth corners lie roughly in one plane
# and the nose tip stands in front of it. Turning the head by `yaw` moves the nose sideways by
# depth * sin(yaw) while the eye distance shrinks by cos(yaw), so the nose offset from the eye
# midpoint, in half inter-ocular distances, is NOSE_DEPTH_EYES * tan(yaw). Pitch is the same
# along the eyes-to-mouth axis. Constants: RetinaFace puts a frontal face's nose at 0.56 of the
# eyes-to-mouth height (median over the 35 faces of the test photos, mostly portraits), and the
# nose tip stands about 0.3 inter-ocular distances in front of the eye plane (average head
# proportions). Expect roughly +-5 degrees near frontal, coarser beyond 45.
NOSE_DEPTH_EYES = 0.6  # nose depth / half inter-ocular distance
NOSE_DEPTH_MOUTH = 0.26  # nose depth / eyes-to-mouth height
FRONTAL_NOSE_HEIGHT = 0.56  # nose height between the eye line (0) and the mouth line (1)


def pose(landmarks: Floats) -> Pose:
    """Head pose in degrees from 5 landmarks (5, 2) in image pixels.

    roll: angle of the eye line, positive when the face's image-right eye is lower (clockwise
    head tilt on screen). yaw: positive when the nose points to the image's right. pitch:
    positive when the face looks up (nose closer to the eye line than on a frontal face).
    """
    points = np.asarray(landmarks, dtype=np.float64)
    left_eye, right_eye = points[0], points[1]
    eye_vector = right_eye - left_eye
    roll = math.atan2(eye_vector[1], eye_vector[0])
    # Undo roll around the eye midpoint so the remaining offsets are purely yaw and pitch.
    cos, sin = math.cos(-roll), math.sin(-roll)
    rotation = np.array([[cos, -sin], [sin, cos]])
    eyes_mid = (left_eye + right_eye) / 2
    upright = (points - eyes_mid) @ rotation.T
    half_eyes = max(float(np.hypot(*eye_vector)) / 2, 1e-6)
    mouth_height = max(float((upright[3, 1] + upright[4, 1]) / 2), 1e-6)
    yaw = math.atan2(upright[2, 0] / half_eyes, NOSE_DEPTH_EYES)
    pitch = math.atan2(FRONTAL_NOSE_HEIGHT - upright[2, 1] / mouth_height, NOSE_DEPTH_MOUTH)
    return Pose(
        pitch=round(math.degrees(pitch), 2),
        roll=round(math.degrees(roll), 2),
        yaw=round(math.degrees(yaw), 2),
    )
