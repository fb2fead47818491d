"""Retries without duplicates: writes with an `Idempotency-Key` (decisions.md D14), on both
databases and the real engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from facegate.collection import idempotency
from facegate.db.tables import IdempotentRequest, utcnow
from tests.support.clients import Api, running_api
from tests.support.servers import create_service

DAY = timedelta(days=1)


@pytest.fixture
def dlib_api(settings: Any, face_engine: Any, faces_dir: Path) -> Iterator[Api]:
    """A live server on dlib: storage is what these tests exercise, not the model."""
    with running_api(settings, face_engine, faces_dir) as api:
        yield api


def _add(api: Api, key: str, data: bytes | None = None, **headers: str) -> httpx.Response:
    """Add `fr_obama.jpg` (or `data`) to obama with Idempotency-Key `key`."""
    return api.request(
        "POST",
        "/api/v1/recognition/faces",
        params={"subject": "obama"},
        files={"file": ("a.jpg", data or api.photo("fr_obama.jpg"), "image/jpeg")},
        headers={"Idempotency-Key": key, **headers},
    )


def _rows(api: Api) -> int:
    with api.session() as s:
        return int(s.scalar(select(func.count()).select_from(IdempotentRequest)) or 0)


def test_the_same_key_adds_once_and_answers_the_same(dlib_api: Api) -> None:
    first = _add(dlib_api, "add-1")
    again = _add(dlib_api, "add-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert [e["image_id"] for e in dlib_api.examples()] == [first.json()["image_id"]]


def test_another_key_adds_again(dlib_api: Api) -> None:
    first, second = _add(dlib_api, "add-1"), _add(dlib_api, "add-2")
    assert first.status_code == second.status_code == 201
    assert first.json()["image_id"] != second.json()["image_id"]
    assert len(dlib_api.examples()) == 2


def test_keys_belong_to_one_service(dlib_api: Api) -> None:
    other = create_service(dlib_api.settings, "recognition", name="other")
    mine, theirs = _add(dlib_api, "k"), _add(dlib_api, "k", **{"x-api-key": other})
    assert mine.status_code == theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert len(dlib_api.examples()) == 1  # the other example went to the other service


def test_deletes_and_renames_are_replayed_too(dlib_api: Api) -> None:
    image_id = _add(dlib_api, "add").json()["image_id"]
    headers = {"Idempotency-Key": "delete"}
    path = f"/api/v1/recognition/faces/{image_id}"
    deleted = dlib_api.request("DELETE", path, headers=headers)
    # Without the key the retry would be 404 "Image ... not found": the client could not tell.
    replayed = dlib_api.request("DELETE", path, headers=headers)
    assert (deleted.status_code, replayed.status_code) == (200, 200)
    assert replayed.json() == deleted.json() == {"image_id": image_id, "subject": "obama"}
    rename = {"Idempotency-Key": "rename"}
    created = dlib_api.request("POST", "/api/v1/recognition/subjects", json={"subject": "a"})
    assert created.status_code == 201
    moved = dlib_api.request(
        "PUT", "/api/v1/recognition/subjects/a", json={"subject": "b"}, headers=rename
    )
    again = dlib_api.request(
        "PUT", "/api/v1/recognition/subjects/a", json={"subject": "b"}, headers=rename
    )
    assert moved.json() == again.json() == {"updated": True}
    assert again.headers["idempotent-replayed"] == "true"


def test_a_failed_write_is_not_kept(dlib_api: Api) -> None:
    broken = _add(dlib_api, "k", data=b"not an image")
    assert (broken.status_code, broken.json()["code"]) == (400, 21)
    assert _rows(dlib_api) == 0
    retried = _add(dlib_api, "k")
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers


def test_reads_and_requests_without_a_key_are_not_recorded(dlib_api: Api) -> None:
    assert _add(dlib_api, "k").status_code == 201
    listed = dlib_api.request(
        "GET", "/api/v1/recognition/faces", headers={"Idempotency-Key": "read"}
    )
    recognized = dlib_api.request(
        "POST",
        "/api/v1/recognition/recognize",
        files={"file": ("a.jpg", dlib_api.photo("fr_obama2.jpg"), "image/jpeg")},
        headers={"Idempotency-Key": "read"},
    )
    assert (listed.status_code, recognized.status_code) == (200, 200)
    assert dlib_api.add("obama", "fr_obama2.jpg").status_code == 201
    assert _rows(dlib_api) == 1


def test_a_key_for_another_request_is_refused(dlib_api: Api) -> None:
    assert _add(dlib_api, "k").status_code == 201
    other = dlib_api.request(
        "POST",
        "/api/v1/recognition/subjects",
        json={"subject": "x"},
        headers={"Idempotency-Key": "k"},
    )
    assert other.status_code == 422
    assert other.json() == {
        "message": "This Idempotency-Key was used for a different request",
        "code": 0,
    }


@pytest.mark.parametrize("key", ["", "a b", "é", "x" * 256])
def test_a_malformed_key_is_refused(dlib_api: Api, key: str) -> None:
    response = dlib_api.request(
        "DELETE",
        "/api/v1/recognition/faces",
        headers={"Idempotency-Key": key.encode()},
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "Idempotency-Key must be 1 to 255 printable ASCII characters",
        "code": 26,
    }


def _hold(api: Api, key: str, request: str) -> None:
    """Claim `key` from the test's side, as a write of this (live) process still running."""
    with api.session() as s:
        owner = idempotency.digest(api.keys["recognition"])
        assert idempotency.claim(s, scope=owner, key=key, request=request, ttl=DAY) is None


def test_a_retry_while_the_first_runs_gets_409(dlib_api: Api) -> None:
    request = idempotency.digest("POST /api/v1/recognition/faces?subject=obama")
    _hold(dlib_api, "k", request)
    response = _add(dlib_api, "k")
    assert response.status_code == 409
    assert response.json()["message"].startswith("A request with this Idempotency-Key is still")
    assert dlib_api.examples() == []


def test_concurrent_duplicates_add_once(dlib_api: Api) -> None:
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _add(dlib_api, "same"), range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses[0] == 201 and set(statuses) <= {201, 409}, statuses
    assert len({a.json()["image_id"] for a in answers if a.status_code == 201}) == 1
    assert len(dlib_api.examples()) == 1


def test_an_expired_key_runs_again_and_old_keys_are_purged(dlib_api: Api) -> None:
    first = _add(dlib_api, "k")
    with dlib_api.session() as s:
        s.execute(update(IdempotentRequest).values(created_at=utcnow() - DAY - DAY))
    again = _add(dlib_api, "k")
    assert again.status_code == 201 and again.json()["image_id"] != first.json()["image_id"]
    with dlib_api.session() as s:
        s.execute(update(IdempotentRequest).values(created_at=utcnow() - DAY - DAY))
        assert idempotency.purge(s, ttl=DAY) == 1
    assert _rows(dlib_api) == 0


def test_the_ttl_is_a_setting(
    make_settings: Callable[..., Any], face_engine: Any, faces_dir: Path
) -> None:
    settings = make_settings(idempotency_ttl_seconds=1)
    with running_api(settings, face_engine, faces_dir) as api:
        first = _add(api, "k")
        with api.session() as s:  # two seconds later, as far as the stored time says
            s.execute(update(IdempotentRequest).values(created_at=utcnow() - timedelta(seconds=2)))
        again = _add(api, "k")
    assert first.status_code == again.status_code == 201
    assert "idempotent-replayed" not in again.headers
