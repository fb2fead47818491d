"""facegate.inference: the one file-size check, and the typed request it hands the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from facegate.errors import FileTooLarge, NoFaceFound
from facegate.inference import FaceQuery, Image, Inference


def test_file_size_is_checked_once_for_every_caller(face_engine: Any, faces_dir: Path):
    data = (faces_dir / "fr_obama_small.jpg").read_bytes()
    with pytest.raises(FileTooLarge, match=r"\(max_file_size\)") as caught:
        Inference(face_engine, 1, max_file_size=len(data) - 1).faces(Image(data, None), FaceQuery())
    assert (caught.value.status, caught.value.code) == (413, 21)
    exact = Inference(face_engine, 1, max_file_size=len(data))
    assert len(exact.faces(Image(data, None), FaceQuery()).faces) == 1


def test_embeddings_are_computed_without_being_asked_to_show_them(
    face_engine: Any, faces_dir: Path
):
    inference = Inference(face_engine, 1)
    image = Image((faces_dir / "fr_two_people.jpg").read_bytes(), "two.jpg")
    shown = inference.faces(image, FaceQuery(plugins=["age"]))
    assert all(face.embedding is not None and face.age is not None for face in shown.faces)
    assert "calculator" in shown.plugins_versions
    bare = inference.faces(image, FaceQuery(limit=1), embed=False)
    assert [face.embedding for face in bare.faces] == [None]
    with pytest.raises(NoFaceFound):
        inference.faces(image, FaceQuery(det_prob_threshold=1.0))
