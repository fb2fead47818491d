"""The `facegate` command: detect and compare through the installed console script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["api_fixtures"]


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


def test_detect_reports_bad_files_and_unavailable_plugins(faces_dir: Path, tmp_path: Path):
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    done = _facegate("detect", text, faces_dir / "fr_obama.jpg", tmp_path=tmp_path)
    assert done.returncode == 1
    bodies = json.loads(done.stdout)
    assert bodies[str(text)] == {"message": "The file contains text, not an image", "code": 21}
    assert len(bodies[str(faces_dir / "fr_obama.jpg")]["result"]) == 1
    done = _facegate("detect", faces_dir / "fr_obama.jpg", "--plugins", "mask", tmp_path=tmp_path)
    assert done.returncode == 1
    assert "Plugin not available: mask" in json.loads(done.stdout)["message"]


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
    from api_fixtures import running_api

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
