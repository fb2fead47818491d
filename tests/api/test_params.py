"""Request parameters read the way Spring reads them; images from multipart parts and base64."""

from __future__ import annotations

import base64

import pytest

from facegate.api.params import Params, image_from_base64, subject_name
from facegate.engine.faces import FaceRequest
from facegate.errors import EmptyField, InvalidName, InvalidParameter, NoFaceFound, NotBase64


def test_booleans_are_spring_like() -> None:
    for text in ("true", "True", "ON", "yes", "1"):
        assert Params([("status", text)]).boolean("status", False) is True
    for text in ("false", "FALSE", "off", "no", "0"):
        assert Params([("status", text)]).boolean("status", True) is False
    assert Params([("status", "")]).boolean("status", True) is True  # empty: the default
    with pytest.raises(InvalidParameter):
        Params([("status", "maybe")]).boolean("status", False)


def test_face_plugins_joined_split_and_filtered() -> None:
    params = Params([("face_plugins", "age, gender"), ("face_plugins", "landmarks undefined age")])
    assert params.face_plugins() == ["age", "gender", "landmarks"]


def test_limits() -> None:
    assert Params([]).face_query().limit == 0
    assert Params([("prediction_count", "-1")]).prediction_count() == -1
    # Parsed here; checked once, by the engine's request, whoever builds it.
    with pytest.raises(InvalidParameter, match="Limit should be equal or greater than 0; "):
        FaceRequest(limit=Params([("limit", "-3")]).face_query().limit)
    with pytest.raises(NoFaceFound):
        FaceRequest(
            det_prob_threshold=Params([("det_prob_threshold", "1.01")]).det_prob_threshold()
        )
    assert Params([("det_prob_threshold", "0.5")]).det_prob_threshold() == 0.5


def test_base64_variants() -> None:
    data = bytes(range(256))
    standard = base64.b64encode(data).decode()
    assert image_from_base64({"file": standard}, "file", "content").data == data
    url_safe = base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert image_from_base64({"file": url_safe}, "file", "content").data == data
    wrapped = "\n".join(standard[i : i + 76] for i in range(0, len(standard), 76))
    assert image_from_base64({"file": wrapped}, "file", "content").data == data
    with pytest.raises(NotBase64):
        image_from_base64({"file": "data:image/png;base64," + standard}, "file", "c")
    with pytest.raises(EmptyField, match="Field content cannot be empty"):
        image_from_base64({}, "file", "content")


def test_subject_names() -> None:
    assert subject_name({"subject": "Ann Lee"}) == "Ann Lee"
    with pytest.raises(InvalidParameter, match="between 1 and 50"):
        subject_name({"subject": "a" * 51})
    with pytest.raises(InvalidName):
        subject_name({"subject": "a/b"})
