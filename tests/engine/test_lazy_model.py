"""facegate.engine.lazy_model and the plugins' models it holds: nothing loaded until a request
asks for its plugin, then the same answers as the model loaded directly, loaded once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from facegate.engine import images
from facegate.engine.dlib.landmarks import Landmarks68
from facegate.engine.face_engine import FaceEngine
from facegate.engine.faces import FaceRequest
from facegate.engine.lazy_model import LazyModel
from facegate.engine.mask import MaskClassifier
from facegate.errors import ModelUnavailable
from tests.support import engine_options

PLUGIN_MODELS = ("attributes", "landmarks68", "landmarks106", "mask")


def _fresh(model: str, data_dir: Path) -> FaceEngine:
    """An engine of its own: the session's shared engines may have loaded plugins already."""
    return FaceEngine.create(engine_options(data_dir=data_dir, model=model))


def _loaded(engine: FaceEngine) -> dict[str, bool]:
    models = engine._models
    return {name: getattr(models, name).loaded for name in PLUGIN_MODELS}


def test_concurrent_first_uses_load_once():
    loads: list[int] = []
    arrived = threading.Barrier(8)

    def load() -> object:
        loads.append(1)
        return object()

    lazy = LazyModel(load)

    def first_use() -> object:
        arrived.wait()
        return lazy.get()

    with ThreadPoolExecutor(8) as pool:
        models = list(pool.map(lambda _: first_use(), range(8)))
    assert len(loads) == 1
    assert all(model is models[0] for model in models)


def test_a_failed_load_is_tried_again():
    attempts: list[int] = []

    def load() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ModelUnavailable("not yet")
        return "model"

    lazy = LazyModel(load)
    with pytest.raises(ModelUnavailable, match="not yet"):
        lazy.get()
    assert not lazy.loaded
    assert lazy.get() == "model" and lazy.loaded


@pytest.mark.parametrize("model", ["dlib", "insightface-s"])
def test_plugins_load_on_first_request_and_answer_as_loaded_directly(
    model: str, tmp_path: Path, faces_dir: Path
):
    engine = _fresh(model, tmp_path)
    # Installed plugins are offered before their models load.
    assert {"age", "gender", "landmarks68", "landmarks2d106", "mask"} <= set(
        engine.plugins_versions
    )
    photo = (faces_dir / "fr_obama.jpg").read_bytes()
    engine.analyze(photo)  # the calculator alone, as recognition asks
    assert _loaded(engine) == dict.fromkeys(PLUGIN_MODELS, False)

    (face,) = engine.analyze(photo, FaceRequest(plugins=frozenset({"landmarks68", "mask"}))).faces
    loaded = {"attributes": False, "landmarks68": True, "landmarks106": False, "mask": True}
    assert _loaded(engine) == loaded
    # The eager path: each model loaded on its own, on the pixels and box the engine read.
    options = engine_options(data_dir=tmp_path, model=model)
    pixels = images.decode(photo, max_image_pixels=options.max_image_pixels).pixels
    boxes = engine._models.detector.detect(pixels, threshold=engine.det_prob_threshold).boxes
    assert [face.landmarks68] == Landmarks68.load().points(pixels, boxes)
    assert [face.mask] == MaskClassifier.load(options).classify(pixels, boxes)


def test_concurrent_first_requests_load_the_plugin_once(
    tmp_path: Path, faces_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    loads: list[Any] = []
    load = Landmarks68.load

    def counted() -> Landmarks68:
        loads.append(1)
        return load()

    monkeypatch.setattr(Landmarks68, "load", counted)
    engine = _fresh("dlib", tmp_path)
    photo = (faces_dir / "fr_obama.jpg").read_bytes()
    request = FaceRequest(plugins=frozenset({"landmarks68"}))
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: engine.analyze(photo, request), range(4)))
    assert len(loads) == 1
    points = [face.landmarks68 for answer in answers for face in answer.faces]
    assert len(points) == 4 and all(p == points[0] for p in points)


def test_a_missing_plugin_file_stops_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(Landmarks68, "model_file", "no_such_predictor.dat")
    with pytest.raises(ModelUnavailable, match=r"no_such_predictor\.dat.*face-recognition-models"):
        _fresh("dlib", tmp_path)


def test_a_damaged_plugin_file_names_itself_at_first_use(
    tmp_path: Path, faces_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    engine = _fresh("dlib", tmp_path)
    damaged = tmp_path / "shape_predictor_68_face_landmarks.dat"
    damaged.write_bytes(b"not a predictor")
    monkeypatch.setattr(Landmarks68, "path", classmethod(lambda cls: damaged))
    photo = (faces_dir / "fr_obama.jpg").read_bytes()
    with pytest.raises(ModelUnavailable, match=r"shape_predictor_68_face_landmarks\.dat cannot be"):
        engine.analyze(photo, FaceRequest(plugins=frozenset({"landmarks68"})))


def test_load_plugin_models_loads_them_all(tmp_path: Path):
    """What `facegate doctor` calls, so that it finds a damaged file before a request does."""
    engine = _fresh("insightface-s", tmp_path)
    engine.load_plugin_models()
    assert _loaded(engine) == dict.fromkeys(PLUGIN_MODELS, True)
