"""Keyless endpoints (decisions.md C1.8): config, consistence status, migrate, static images."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from facegate.collection import flags, store
from tests.support.clients import Api, in_process_api


def test_config_reports_size_limits(make_settings: Any, fake_engine: Any, faces_dir: Any) -> None:

    with in_process_api(make_settings(max_file_size="1MB"), fake_engine, faces_dir) as api:
        response = api.client.get("/api/v1/config")
    assert response.json() == {"clientMaxFileSize": 1048576, "clientMaxBodySize": 10485760}


def test_consistence_status(api: Api) -> None:
    body = api.client.get("/api/v1/consistence/status").json()
    assert body == {
        "demoFaceCollectionIsInconsistent": False,
        "dbIsInconsistent": False,
        "saveImagesToDB": True,
        "status": "OK",
    }


def _add_stale_example(api: Api) -> str:
    """An example of obama whose embedding came from another calculator (a random vector)."""
    with api.session() as s:
        example = store.add_example(
            s,
            service=api.service(s),
            subject="obama",
            embedding=np.random.default_rng(0).normal(size=128).astype(np.float32),
            calculator="facenet.Calculator",
            image=api.photo("fr_obama.jpg"),
        )
        return example.id


def test_migrate_re_embeds_stale_examples(api: Api) -> None:
    _add_stale_example(api)
    assert api.client.get("/api/v1/consistence/status").json()["dbIsInconsistent"] is True
    # The stale vector is not searched: recognition sees no example of this calculator.
    assert api.recognize("fr_obama2.jpg").json()["result"][0]["subjects"] == []
    response = api.migrate()
    assert (response.status_code, response.text) == (200, "Migration started")
    deadline = time.monotonic() + 120
    while api.client.get("/api/v1/consistence/status").json()["dbIsInconsistent"]:
        assert time.monotonic() < deadline, "the migration did not finish"
        time.sleep(0.1)
    best = api.recognize("fr_obama2.jpg").json()["result"][0]["subjects"][0]
    assert best["subject"] == "obama" and best["similarity"] >= 0.5


def test_writes_are_refused_while_migrating(api: Api) -> None:
    with api.session() as s:
        assert flags.take_flag(s, name=flags.MIGRATION_FLAG)
    refused = api.add("obama", "fr_obama.jpg")
    assert refused.status_code == 405
    assert refused.json() == {
        "message": "Write operations during migration aren't allowed",
        "code": 32,
    }
    for method, path in [
        ("POST", "/api/v1/recognition/subjects"),
        ("DELETE", "/api/v1/recognition/subjects"),
        ("DELETE", "/api/v1/recognition/faces"),
        ("POST", "/api/v1/recognition/faces/delete"),
    ]:
        assert api.request(method, path, json={"subject": "x"}).json()["code"] == 32
    again = api.migrate()
    assert again.status_code == 400
    assert again.json() == {"message": "Migration already executing", "code": 27}
    # Reads still work.
    assert api.subjects() == []
    with api.session() as s:
        flags.drop_flag(s, name=flags.MIGRATION_FLAG)
    assert api.add("obama", "fr_obama.jpg").status_code == 201


def test_static_image_needs_no_header(api: Api) -> None:
    image_id = api.add("obama", "fr_obama.jpg").json()["image_id"]
    url = f"/api/v1/static/{api.keys['recognition']}/images/{image_id}"
    assert api.client.get(url).content == api.photo("fr_obama.jpg")
    # Another service's key, or an unknown one, gives the empty body.
    other = f"/api/v1/static/{api.keys['detection']}/images/{image_id}"
    assert (api.client.get(other).status_code, api.client.get(other).content) == (200, b"")
    assert api.client.get(f"/api/v1/static/nonsense/images/{image_id}").content == b""
