"""facegate.engine.geometry: anchors, box and landmark decoding, NMS and pose, on exact numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facegate.engine import geometry


def test_prior_boxes_count_and_order():
    priors = geometry.prior_boxes(640, 640)
    assert priors.shape == ((80 * 80 + 40 * 40 + 20 * 20) * 2, 4)
    # Stride 8: row 0, column 0 with both sizes, then column 1.
    assert priors[:3].tolist() == [[4, 4, 16, 16], [4, 4, 32, 32], [12, 4, 16, 16]]
    # First anchor of stride 16 follows the 80x80x2 anchors of stride 8.
    assert priors[80 * 80 * 2].tolist() == [8, 8, 64, 64]
    assert priors[-1].tolist() == [624, 624, 512, 512]


def test_prior_boxes_round_feature_maps_up():
    priors = geometry.prior_boxes(100, 50)  # 13x7, 7x4 and 4x2 cells
    assert priors.shape[0] == (13 * 7 + 7 * 4 + 4 * 2) * 2


def test_decode_boxes_zero_offsets_give_the_anchor():
    priors = np.array([[100, 50, 16, 32]], dtype=np.float32)
    boxes = geometry.decode_boxes(np.zeros((1, 4), np.float32), priors)
    assert boxes.tolist() == [[92, 34, 108, 66]]


def test_decode_boxes_applies_variances():
    priors = np.array([[100, 100, 20, 20]], dtype=np.float32)
    loc = np.array([[1.0, -1.0, math.log(2) / 0.2, 0.0]], dtype=np.float32)
    (box,) = geometry.decode_boxes(loc, priors)
    # centre moves by 0.1 * 20 = 2 px; width doubles to 40
    np.testing.assert_allclose(box, [82, 88, 122, 108], atol=1e-4)


def test_decode_landmarks():
    priors = np.array([[10, 20, 100, 100]], dtype=np.float32)
    offsets = np.array([[0, 0, 1, 0, 0, 1, -1, 0, 0, -1]], dtype=np.float32)
    points = geometry.decode_landmarks(offsets, priors)
    assert points.shape == (1, 5, 2)
    assert points[0].tolist() == [[10, 20], [20, 20], [10, 30], [0, 20], [10, 10]]


def test_nms_keeps_best_of_overlapping_and_all_disjoint():
    boxes = np.array(
        [[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10.5]], dtype=np.float32
    )
    scores = np.array([0.8, 0.9, 0.7, 0.6], dtype=np.float32)
    assert geometry.nms(boxes, scores, 0.4).tolist() == [1, 2]
    assert geometry.nms(boxes, scores, 0.99).tolist() == [1, 0, 2, 3]
    assert geometry.nms(boxes[:0], scores[:0], 0.4).tolist() == []


def _frontal(scale: float = 40.0) -> np.ndarray:
    """Five landmarks of an ideal frontal face in geometry's face model."""
    mouth = 2.3  # eyes-to-mouth height in half inter-ocular distances
    points = [
        (-1, 0),
        (1, 0),
        (0, geometry.FRONTAL_NOSE_HEIGHT * mouth),
        (-0.8, mouth),
        (0.8, mouth),
    ]
    return np.array(points, dtype=np.float32) * scale + [300, 200]


def _rotate(points: np.ndarray, degrees: float) -> np.ndarray:
    angle = math.radians(degrees)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    centre = points.mean(axis=0)
    return ((points - centre) @ rotation.T + centre).astype(np.float32)


def test_frontal_face_has_zero_pose():
    pose = geometry.pose(_frontal())
    assert (pose.pitch, pose.roll, pose.yaw) == (0, 0, 0)


@pytest.mark.parametrize("degrees", [-30, -10, 15, 40])
def test_roll_is_the_eye_line_angle_and_leaves_yaw_and_pitch(degrees: float):
    pose = geometry.pose(_rotate(_frontal(), degrees))
    assert pose.roll == pytest.approx(degrees, abs=0.01)
    assert pose.yaw == pytest.approx(0, abs=0.01)
    assert pose.pitch == pytest.approx(0, abs=0.01)


def test_yaw_follows_the_nose_and_flips_with_a_mirror():
    points = _frontal()
    points[2, 0] += 0.6 * 40 * math.tan(math.radians(30))  # nose moved right by depth*tan(30)
    assert geometry.pose(points).yaw == pytest.approx(30, abs=0.01)
    mirrored = points.copy()
    mirrored[:, 0] = -mirrored[:, 0]
    mirrored = mirrored[[1, 0, 2, 4, 3]]  # the image-left eye is the first point again
    assert geometry.pose(mirrored).yaw == pytest.approx(-30, abs=0.01)


def test_pitch_is_positive_looking_up():
    points = _frontal()
    points[2, 1] -= 10  # nose closer to the eyes
    assert geometry.pose(points).pitch > 10
    points[2, 1] += 20
    assert geometry.pose(points).pitch < -10
