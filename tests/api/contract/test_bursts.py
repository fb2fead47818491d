"""POST /recognition/recognize/burst on the fake engine: the answer's shape, frames without a
face, and the refusals (decisions.md D40)."""

from __future__ import annotations

from typing import Any

from PIL import Image

from tests.support import png
from tests.support.clients import Api, ok, refused

BURST = "/api/v1/recognition/recognize/burst"
# One flat colour: the fake engine finds no face in it.
NO_FACE = "flat.png"


def _burst(api: Api, *photos: str, **params: Any) -> Any:
    flat = png(Image.new("RGB", (64, 64), "grey"))
    files = [
        ("file", (photo, flat if photo == NO_FACE else api.photo(photo), "image/jpeg"))
        for photo in photos
    ]
    return api.request("POST", BURST, params=params, files=files)


def test_one_answer_per_person_with_each_frames_evidence(api: Api) -> None:
    assert api.add("obama", "fr_obama.jpg").status_code == 201
    body = ok(_burst(api, "fr_obama2.jpg", "fr_obama3.jpg", "fr_biden.jpg"))
    assert body["faces_per_frame"] == [1, 1, 1]
    # The fake's faces fill their photo, so the three boxes overlap into one track, in which
    # Biden's frame is outvoted: it matches Obama's example far under the threshold.
    [track] = body["result"]
    alone = ok(api.recognize("fr_obama2.jpg"))["result"][0]["subjects"][0]["similarity"]
    assert (track["subject"], track["similarity"], track["frame"]) == ("obama", alone, 0)
    assert track["support"] == round(2 / 3, 5)
    assert [frame["frame"] for frame in track["frames"]] == [0, 1, 2]
    first, _, biden = track["frames"]
    assert set(first) == {"frame", "weight", "box", "subjects"}
    assert first["weight"] == 0.99  # the detector's score: the fake has no quality measures
    assert first["subjects"] == [{"subject": "obama", "similarity": alone}]
    assert biden["subjects"][0]["similarity"] < 0.5
    assert track["box"] == first["box"]


def test_a_frame_without_a_face_adds_nothing(api: Api) -> None:
    assert api.add("obama", "fr_obama.jpg").status_code == 201
    body = ok(_burst(api, NO_FACE, "fr_obama2.jpg"))
    assert body["faces_per_frame"] == [0, 1]
    assert [track["frame"] for track in body["result"]] == [1]


def test_refusals(api: Api) -> None:
    assert "missing" in refused(api.request("POST", BURST), 400, 34)
    too_many = ["fr_obama2.jpg"] * (api.settings.burst_max_frames + 1)
    assert "burst_max_frames" in refused(_burst(api, *too_many), 400, 26)
    refused(_burst(api, NO_FACE), 400, 28)
    refused(_burst(api, "fr_obama2.jpg", det_prob_threshold=2), 400, 28)
    refused(_burst(api, "fr_obama2.jpg", prediction_count=0), 400, 26)
    refused(api.request("POST", BURST, headers={"x-api-key": api.keys["detection"]}), 404, 10)
