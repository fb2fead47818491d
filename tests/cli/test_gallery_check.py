"""`facegate gallery-check`: the check's findings from the command line, on the local database
and the real engine, with examples set aside and restored."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support.commands import facegate


def test_gallery_check_prints_the_findings_and_sets_aside(
    faces_dir: Path, tmp_path: Path, db_url: str
) -> None:
    data = tmp_path / "data"
    for subject, photo in [("obama", "fr_obama.jpg"), ("obama", "fr_obama2.jpg")]:
        folder = tmp_path / "gallery" / subject
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(faces_dir / photo, folder)
    shutil.copy(faces_dir / "fr_biden.jpg", tmp_path / "gallery" / "obama")  # planted
    enrolled = facegate(
        "import", tmp_path / "gallery", "--service", "door", data_dir=data, db_url=db_url
    )
    assert enrolled.returncode == 0, enrolled.stderr

    done = facegate("gallery-check", "--service", "door", data_dir=data, db_url=db_url)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["examples"] == 3 and report["model"] == "dlib-resnet-v1"
    # Of three examples, the planted one is far from both others; each Obama is close to one.
    [outlier] = report["outliers"]
    planted = outlier["image_id"]

    aside = facegate(
        "gallery-check", "--service", "door", "--set-aside", planted, data_dir=data, db_url=db_url
    )
    assert aside.returncode == 0 and f"set aside: {planted} (obama)" in aside.stderr
    after = json.loads(aside.stdout)
    assert after["outliers"] == [] and after["set_aside"] == [
        {"image_id": planted, "subject": "obama"}
    ]
    back = facegate(
        "gallery-check", "--service", "door", "--restore", planted, data_dir=data, db_url=db_url
    )
    assert back.returncode == 0 and json.loads(back.stdout)["set_aside"] == []

    unknown = facegate("gallery-check", "--service", "nope", data_dir=data, db_url=db_url)
    assert unknown.returncode == 2 and "no recognition service is called 'nope'" in unknown.stderr
