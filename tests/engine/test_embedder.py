"""facegate.engine.dlib.embedder: DlibEmbedder's contract (shape, dtype, batching, empty input)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegate.engine.dlib.embedder import DlibEmbedder, Embedder
from facegate.engine.dlib.landmarks import Aligner
from facegate.engine.images import decode
from tests.support import engine_options


def test_embeds_a_batch_like_single_chips(faces_dir: Path):
    pixels = decode(
        (faces_dir / "fr_two_people.jpg").read_bytes(),
        max_image_pixels=engine_options().max_image_pixels,
    ).pixels
    boxes = np.array([[789, 50, 937, 256], [236, 25, 384, 227]], dtype=np.float32)
    aligner = Aligner.load()
    chips = aligner.chips(pixels, aligner.shapes(pixels, boxes))
    embedder: Embedder = DlibEmbedder.load()
    assert embedder.model_id == "dlib-resnet-v1"
    batch = embedder.embed(chips)
    assert batch.shape == (2, 128) and batch.dtype == np.float32
    for chip, expected in zip(chips, batch, strict=True):
        np.testing.assert_allclose(embedder.embed(chip[None])[0], expected, atol=1e-5)
    assert np.linalg.norm(batch[0] - batch[1]) > 0.5  # two different people
    assert embedder.embed(chips[:0]).shape == (0, 128)
