"""`facegate recognize-burst`: the burst endpoint's answer from the command line, on the local
database and the real engine."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support.bursts import one_good_among_poor
from tests.support.commands import facegate


def test_recognize_burst_prints_one_answer_per_person(
    faces_dir: Path, tmp_path: Path, db_url: str
) -> None:
    data = tmp_path / "data"
    gallery = tmp_path / "gallery" / "obama"
    gallery.mkdir(parents=True)
    shutil.copy(faces_dir / "fr_obama.jpg", gallery)
    enrolled = facegate("import", gallery.parent, "--service", "door", data_dir=data, db_url=db_url)
    assert enrolled.returncode == 0, enrolled.stderr
    frames = []
    for number, frame in enumerate(one_good_among_poor(faces_dir / "fr_obama2.jpg")):
        frames.append(tmp_path / f"{number}.jpg")
        frames[-1].write_bytes(frame)

    done = facegate("recognize-burst", *frames, "--service", "door", data_dir=data, db_url=db_url)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    [track] = body["result"]
    assert (track["subject"], track["frame"]) == ("obama", 2)
    assert [frame["frame"] for frame in track["frames"]] == [0, 1, 2, 3]

    unknown = facegate(
        "recognize-burst", frames[0], "--service", "nope", data_dir=data, db_url=db_url
    )
    assert unknown.returncode == 2 and "no recognition service is called 'nope'" in unknown.stderr
