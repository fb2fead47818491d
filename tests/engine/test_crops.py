"""facegate.engine.crops and arcface alignment: transforms, warps and the 106-point plugin."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from facegate.engine import crops
from facegate.engine.faces import FaceRequest
from facegate.engine.insightface.arcface import TEMPLATE, aligned_chips


def test_similarity_transform_recovers_rotation_scale_and_shift():
    angle, scale, shift = math.radians(20), 1.7, np.array([12.0, -4.0])
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    source = np.random.default_rng(1).uniform(0, 100, (5, 2))
    target = source @ (scale * rotation).T + shift
    matrix = crops.similarity_transform(source, target)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_warp_samples_where_the_matrix_points():
    pixels = np.zeros((50, 60, 3), np.uint8)
    pixels[20, 30] = 255
    # Shift by (-25, -15): the bright pixel lands on (5, 5) of a 10x10 crop.
    chip = crops.warp(pixels, np.array([[1.0, 0, -25], [0, 1.0, -15]]), 10)
    assert chip.shape == (10, 10, 3)
    assert tuple(np.argwhere(chip[:, :, 0] == 255)[0]) == (5, 5)


def test_box_crop_centres_the_box_and_maps_back():
    matrix = crops.box_crop([100, 50, 200, 250], 192)
    centre = matrix @ np.array([150, 150, 1.0])
    np.testing.assert_allclose(centre, [96, 96])
    assert matrix[0, 0] == 192 / (200 * 1.5)
    np.testing.assert_allclose(crops.to_image([[96, 96], [0, 0]], matrix), [[150, 150], [0, 0]])


def test_aligned_chip_puts_the_points_on_the_template():
    points = TEMPLATE * 2 + 40  # a face twice the chip size, shifted
    pixels = np.zeros((400, 400, 3), np.uint8)
    for x, y in points.round().astype(int):
        pixels[y - 1 : y + 2, x - 1 : x + 2] = 255
    (chip,) = aligned_chips(pixels, points[None])
    for x, y in TEMPLATE.round().astype(int):
        assert chip[y, x, 0] > 100


def test_landmarks2d106_fall_on_the_face(model_engine: Any, faces_dir: Path):
    analysis = model_engine.analyze(
        (faces_dir / "fr_two_people.jpg").read_bytes(),
        FaceRequest(plugins=frozenset({"landmarks2d106"})),
    )
    assert len(analysis.faces) == 2
    for face in analysis.faces:
        points = np.array(face.landmarks106)
        assert points.shape == (106, 2)
        box = face.box
        width, height = box.x_max - box.x_min, box.y_max - box.y_min
        inside = (
            (points[:, 0] > box.x_min - 0.1 * width)
            & (points[:, 0] < box.x_max + 0.1 * width)
            & (points[:, 1] > box.y_min - 0.1 * height)
            & (points[:, 1] < box.y_max + 0.1 * height)
        )
        assert inside.all()
        # The 5 detector points lie among the 106: each is within a tenth of the box width.
        for x, y in face.landmarks:
            assert np.hypot(*(points - [x, y]).T).min() < 0.1 * width
