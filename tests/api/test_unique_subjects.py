"""One person once per photo (decisions.md D67) on the real dlib engine over real HTTP: asked
per request or by the service, two faces of one photo (or of one frame of a burst) never get
one subject, a face that loses its subject gets its next candidate, and right answers stay."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from facegate import face_services
from tests.support.clients import Api, ok, running_api

BURST = "/api/v1/recognition/recognize/burst"
PEOPLE = {
    "obama": "fr_obama.jpg",
    "biden": "fr_biden.jpg",
    "kit": "knn_train_kit_harington_john1.jpeg",
    "rose": "knn_train_rose_leslie_img1.jpg",
}


@pytest.fixture
def api(settings: Any, face_engine: Any, faces_dir: Path) -> Iterator[Api]:
    with running_api(settings, face_engine, faces_dir) as api:
        for subject, photo in PEOPLE.items():
            ok(api.add(subject, photo), 201)
        yield api


def _tops(api: Api, photo: str, **params: Any) -> list[str | None]:
    """Each face's best subject, None for a face given no one."""
    faces = ok(api.recognize(photo, **params))["result"]
    return [face["subjects"][0]["subject"] if face["subjects"] else None for face in faces]


def _repeated(tops: list[str | None]) -> list[str]:
    return [name for name, n in Counter(t for t in tops if t).items() if n > 1]


def test_faces_of_one_photo_never_share_a_subject_when_asked(api: Api) -> None:
    # min_similarity 0: every face matches someone, so the six strangers of the group photo
    # crowd onto the few subjects there are.
    plain = _tops(api, "fp_multiface.jpg", min_similarity=0)
    assert len(plain) == 6 and _repeated(plain)
    unique = _tops(api, "fp_multiface.jpg", min_similarity=0, unique_subjects="true")
    assert _repeated(unique) == [] and sorted(filter(None, unique)) == sorted(PEOPLE)
    assert unique.count(None) == 2  # six faces, four subjects
    # A face that loses its best subject gets its next candidate, with all of them listed.
    listed = ok(
        api.recognize(
            "fp_multiface.jpg", min_similarity=0, unique_subjects="yes", prediction_count=3
        )
    )["result"]
    for face, top in zip(listed, unique, strict=True):
        names = [s["subject"] for s in face["subjects"]]
        assert names[:1] == ([top] if top else [])
        assert not set(names) & (set(filter(None, unique)) - {top})


def test_right_answers_stay_and_the_service_can_ask_for_it(api: Api) -> None:
    assert sorted(_tops(api, "fr_two_people.jpg", unique_subjects="on")) == ["biden", "obama"]
    # The third face is a child's, who is no one here.
    tops = _tops(api, "knn_test_obama_and_biden.jpg", unique_subjects="on", min_similarity=0.5)
    assert sorted(filter(None, tops)) == ["biden", "obama"] and tops.count(None) == 1
    assert sorted(_tops(api, "knn_test_kit_with_rose.jpg", unique_subjects=1)) == ["kit", "rose"]
    with api.session() as s:
        face_services.change_settings(s, service=api.service(s), unique_subjects=True)
    assert _repeated(_tops(api, "fp_multiface.jpg", min_similarity=0)) == []
    overridden = _tops(api, "fp_multiface.jpg", min_similarity=0, unique_subjects="false")
    assert _repeated(overridden)


def _burst_tops(api: Api, **params: Any) -> tuple[list[str | None], list[list[str | None]]]:
    """A burst of two frames of the group photo: each track's answer, and each frame's faces'
    best subjects."""
    photo = api.photo("fp_multiface.jpg")
    files = [("file", (f"{n}.jpg", photo, "image/jpeg")) for n in range(2)]
    tracks = ok(api.request("POST", BURST, params={"min_similarity": 0, **params}, files=files))
    frames: defaultdict[int, list[str | None]] = defaultdict(list)
    for track in tracks["result"]:
        for seen in track["frames"]:
            frames[seen["frame"]] += [s["subject"] for s in seen["subjects"][:1]]
    return [track["subject"] for track in tracks["result"]], list(frames.values())


def test_a_burst_frames_faces_never_share_a_subject_when_asked(api: Api) -> None:
    answers, frames = _burst_tops(api)
    assert len(answers) == 6 and _repeated(answers) and all(map(_repeated, frames))
    answers, frames = _burst_tops(api, unique_subjects=1)
    assert len(frames) == 2 and not any(map(_repeated, frames))
    assert _repeated(answers) == [] and sorted(filter(None, answers)) == sorted(PEOPLE)
    with api.session() as s:
        api.service(s).unique_subjects = True  # the service's setting
    answers, frames = _burst_tops(api)
    assert _repeated(answers) == [] and not any(map(_repeated, frames))
    assert _repeated(_burst_tops(api, unique_subjects="no")[0])
