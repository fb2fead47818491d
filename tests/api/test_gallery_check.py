"""The gallery check (decisions.md D65) on the real insightface-s engine over real HTTP, on both
databases and the pgvector backend: it finds a planted outlier, the Angelina Jolie / Kate Siegel
pair, duplicates and strangers, and an example set aside leaves search until it is restored
(listed, marked, all the while)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from facegate import face_services
from tests.support.clients import Api, ok, refused, running_api
from tests.support.databases import DATABASES, PGVECTOR, fresh_database

CHECK = "/api/v1/recognition/gallery-check"
OBAMA = ["fr_obama.jpg", "fr_obama2.jpg", "fr_obama3.jpg", "knn_test_obama1.jpg"]


@pytest.fixture(params=[*DATABASES, PGVECTOR])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_database(request, tmp_path)


@pytest.fixture
def api(settings: Any, engines: Callable[[str], Any], faces_dir: Path) -> Iterator[Api]:
    """A live server on insightface-s, which takes Jolie for Kate Siegel at 1 in 1,000's
    threshold (dlib did under its earlier calibration: docs/decisions.md D60)."""
    with running_api(settings, engines("insightface-s"), faces_dir) as api:
        yield api


def _added(api: Api, subject: str, photo: str) -> str:
    image_id: str = ok(api.add(subject, photo), 201)["image_id"]
    return image_id


def _check(api: Api, **params: Any) -> dict[str, Any]:
    report: dict[str, Any] = ok(api.request("GET", CHECK, params=params))
    return report


def _best(api: Api, photo: str) -> list[dict[str, Any]]:
    [face] = ok(api.recognize(photo, prediction_count=-1))["result"]
    subjects: list[dict[str, Any]] = face["subjects"]
    return subjects


def test_the_check_finds_the_planted_outlier_and_the_confusable_pair(api: Api) -> None:
    for photo in OBAMA:
        _added(api, "obama", photo)
    planted = _added(api, "obama", "fr_biden.jpg")
    jolie = _added(api, "Angelina Jolie", "fp_angelina_jolie.jpg")
    siegel = _added(api, "Kate Siegel", "fp_kate_siegel.jpg")
    report = _check(api)
    assert report["examples"] == 7 and report["subjects"] == 3
    assert [o["image_id"] for o in report["outliers"]] == [planted]
    assert report["outliers"][0]["similarity"] < 0.5
    [pair] = report["confusable"]
    assert set(pair["image_ids"]) == {jolie, siegel} and pair["similarity"] >= 0.5
    assert set(pair["subjects"]) == {"Angelina Jolie", "Kate Siegel"}
    assert report["duplicates"] == [] and report["quality"] is None
    advice = report["threshold"]
    # Obama's 5 with Jolie and with Siegel, and Jolie with Siegel: 11 pairs, one accepted.
    assert advice["pairs"] == 11 and advice["same_subject_pairs"] == 10
    assert advice["current"] == 0.5
    assert advice["current_false_accept_rate"] == pytest.approx(1 / 11)
    assert advice["suggested"] is None and report["notes"]  # too few pairs to say


def test_an_example_set_aside_leaves_search_until_restored(api: Api) -> None:
    obama = _added(api, "obama", "fr_obama.jpg")
    second = _added(api, "obama", "fr_obama2.jpg")
    biden = _added(api, "biden", "fr_biden.jpg")
    assert {s["subject"] for s in _best(api, "fr_obama.jpg")} == {"obama", "biden"}
    assert len(_best(api, "fr_obama.jpg")) == 3

    aside = ok(api.request("PUT", f"/api/v1/recognition/faces/{biden}/set-aside"))
    assert aside == {"image_id": biden, "subject": "biden", "set_aside": True}
    assert {s["subject"] for s in _best(api, "fr_biden.jpg")} == {"obama"}
    assert [s["subject"] for s in _best(api, "fr_obama.jpg")] == ["obama", "obama"]
    report = _check(api)
    assert report["set_aside"] == [{"image_id": biden, "subject": "biden"}]
    assert report["examples"] == 2
    # Still listed and kept, marked (CompreFace's fields first).
    assert [list(face) for face in api.examples()] == [["image_id", "subject", "set_aside"]] * 3
    assert _marks(api) == {obama: False, second: False, biden: True}
    # Setting aside twice changes nothing.
    ok(api.request("PUT", f"/api/v1/recognition/faces/{biden}/set-aside"))
    ok(api.request("PUT", f"/api/v1/recognition/faces/{obama}/set-aside"))
    assert [s["similarity"] < 1 for s in _best(api, "fr_obama.jpg")] == [True]

    restored = ok(api.request("DELETE", f"/api/v1/recognition/faces/{biden}/set-aside"))
    assert restored["set_aside"] is False
    ok(api.request("DELETE", f"/api/v1/recognition/faces/{obama}/set-aside"))
    assert _best(api, "fr_biden.jpg")[0]["subject"] == "biden"
    assert _best(api, "fr_obama.jpg")[0]["similarity"] == 1.0
    assert len(_best(api, "fr_obama.jpg")) == 3 and _check(api)["set_aside"] == []
    assert _marks(api) == {obama: False, second: False, biden: False}


def _marks(api: Api) -> dict[str, bool]:
    """Whether GET /faces lists each example as set aside."""
    return {face["image_id"]: face["set_aside"] is True for face in api.examples()}


def test_set_aside_of_an_unknown_example_is_refused(api: Api) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    response = api.request("PUT", f"/api/v1/recognition/faces/{missing}/set-aside")
    assert refused(response, 404, 44) == f"Image {missing} not found"


def test_duplicates_strangers_and_the_quality_gate(api: Api) -> None:
    with api.session() as s:
        face_services.change_settings(s, service=api.service(s), keep_unknown_faces=True)
    first = _added(api, "obama", "fr_obama.jpg")
    again = _added(api, "obama", "fr_obama.jpg")
    _added(api, "kit", "knn_train_kit_harington_john1.jpeg")
    ok(api.recognize("fr_biden.jpg"))  # a stranger, kept
    report = _check(api, quality="true")
    [duplicate] = report["duplicates"]
    assert set(duplicate["image_ids"]) == {first, again} and duplicate["similarity"] == 1.0
    [stranger] = report["strangers"]
    assert stranger["similarity"] < 0.5 and stranger["subject"] in {"obama", "kit"}
    assert api.request("GET", stranger["url"]).status_code == 200
    assert isinstance(report["quality"], list)
    assert {r["image_id"] for r in report["quality"]} <= {first, again} | {
        e["image_id"] for e in api.examples()
    }
