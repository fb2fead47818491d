"""Burst recognition over real HTTP on the real engine of every model set: one good frame among
poor ones is recognised where the first frame alone is not (decisions.md D40, D41)."""

from __future__ import annotations

from tests.support.bursts import one_good_among_poor
from tests.support.clients import Api, ok

BURST = "/api/v1/recognition/recognize/burst"


def test_one_good_frame_among_poor_ones_is_recognised(api: Api) -> None:
    assert api.add("obama", "fr_obama.jpg").status_code == 201
    assert api.add("biden", "fr_biden.jpg").status_code == 201
    frames = one_good_among_poor(api.faces / "fr_obama2.jpg")
    first = ok(
        api.request("POST", "/api/v1/recognition/recognize", files={"file": ("0.jpg", frames[0])}),
    )
    assert first["result"][0]["subjects"][0]["similarity"] < 0.5

    files = [("file", (f"{n}.jpg", frame, "image/jpeg")) for n, frame in enumerate(frames)]
    body = ok(api.request("POST", BURST, files=files, params={"face_plugins": "quality"}))
    assert body["faces_per_frame"] == [1, 1, 1, 1]
    [track] = body["result"]  # the face stays in place: one track
    assert (track["subject"], track["frame"]) == ("obama", 2)
    assert track["similarity"] > 0.9
    weights = [frame["weight"] for frame in track["frames"]]
    # The detectors' scores differ in scale (SCRFD gives a sharp face about 0.75); the blurred
    # frames weigh a tenth of the sharp one or less on both.
    assert max(weights[:2] + weights[3:]) < weights[2] / 10
    # The evidence shows the plugins asked for: the quality that set the weights.
    assert track["frames"][2]["quality"]["sharpness"] > 80
