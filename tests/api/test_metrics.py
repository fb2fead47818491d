"""`GET /metrics`: Prometheus's text format, parsed by prometheus_client's own parser, after real
requests on a live server; and under `facegate serve --workers 2`, every worker's counts added up.

The recorded metrics belong to the test process (several servers run in it one after another),
so the tests compare a scrape before with a scrape after."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from facegate import face_services
from tests.support.clients import refused, running_api
from tests.support.servers import FACEGATE, facegate_env, serve, serving

RECOGNIZE = "/api/v1/recognition/recognize"
FACE = "/api/v1/recognition/faces/{image_id}"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str, token: str | None = None) -> Samples:
    """Every sample of `/metrics`, asked without a key (with the metrics token, if given), by
    name and labels."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{url}/metrics", headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample of `name` with exactly these labels (0 when there is none yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def matching(samples: Samples, name: str, **labels: str) -> Mapping[frozenset[Any], float]:
    """Samples of `name` whose labels include these."""
    wanted = set(labels.items())
    return {key: v for (n, key), v in samples.items() if n == name and wanted <= key}


def test_metrics_reflect_the_requests(settings: Any, face_engine: Any, faces_dir: Path) -> None:
    with running_api(settings, face_engine, faces_dir) as api:
        before = scrape(api.url)
        added = api.add("obama", "fr_obama.jpg")
        assert added.status_code == 201
        assert api.recognize("fr_two_people.jpg").status_code == 200
        no_file = api.request("POST", RECOGNIZE)
        assert no_file.status_code == 400
        image_id = added.json()["image_id"]
        gone = api.request("DELETE", f"/api/v1/recognition/faces/{image_id}")
        assert gone.status_code == 200
        missing = api.request("DELETE", f"/api/v1/recognition/faces/{image_id}")
        assert missing.status_code == 404
        assert api.add("obama", "fr_obama2.jpg").status_code == 201
        after = scrape(api.url)

    requests = "facegate_http_requests_total"
    assert delta(before, after, requests, method="POST", route=RECOGNIZE, status="200") == 1
    assert delta(before, after, requests, method="POST", route=RECOGNIZE, status="400") == 1
    assert delta(before, after, requests, method="DELETE", route=FACE, status="200") == 1
    assert delta(before, after, requests, method="DELETE", route=FACE, status="404") == 1
    # The template, never the path a client sent: no label holds the example's id.
    assert not any(image_id in str(key) for _, key in after)
    seconds = "facegate_http_request_duration_seconds"
    assert delta(before, after, f"{seconds}_count", method="POST", route=RECOGNIZE) == 2
    assert delta(before, after, f"{seconds}_sum", method="POST", route=RECOGNIZE) > 0

    # The engine analysed three photos (two additions, one recognition), the 400 none.
    stage = "facegate_engine_stage_duration_seconds_count"
    for name in ("decode", "detect", "align", "embed", "total"):
        assert delta(before, after, stage, stage=name) == 3, name
    # One recognition searched the index once (for both faces); adding examples never searches.
    assert delta(before, after, stage, stage="search") == 1
    assert delta(before, after, "facegate_faces_per_image_count") == 3
    assert delta(before, after, "facegate_faces_per_image_sum") == 1 + 2 + 1
    assert value(after, "facegate_inference_running") == 0
    assert value(after, "facegate_inference_waiting") == 0

    examples = "facegate_stored_examples"
    default = face_services.DEFAULT_APPLICATION
    assert value(after, examples, application=default, service="recognition") == 1
    assert matching(after, examples, service="detection") == {}
    assert value(
        after, "facegate_model_info", model=face_engine.model, calculator=face_engine.calculator_id
    )
    assert value(after, "process_resident_memory_bytes") > 0


@pytest.mark.slow
def test_workers_add_up(tmp_path: Path) -> None:
    """Requests spread over two worker processes: every scrape, whichever worker answers it,
    counts all of them, and each worker reports its own memory."""
    import subprocess

    data_dir = tmp_path / "data"
    db_url = f"sqlite:///{data_dir / 'facegate.db'}"
    subprocess.run([FACEGATE, "db", "upgrade"], env=facegate_env(db_url, data_dir), check=True)
    route = "/api/v1/recognition/subjects"
    with serving(db_url, data_dir, "--workers", "2") as url:
        sent = 0
        workers: set[str] = set()
        # Fresh connections land on either worker; stop once both have answered (bounded).
        while len(workers) < 2 and sent < 200:
            assert httpx.get(url + route).status_code == 400  # no key: CompreFace answers 400
            sent += 1
            memory = matching(scrape(url), "process_resident_memory_bytes")
            workers = {dict(key)["pid"] for key in memory}
        assert len(workers) == 2
        scrapes = [scrape(url) for _ in range(4)]
    for samples in scrapes:
        total = "facegate_http_requests_total"
        assert value(samples, total, method="GET", route=route, status="400") == sent
        assert all(v > 0 for v in matching(samples, "process_resident_memory_bytes").values())


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_metrics_token_closes_metrics_to_everyone_else(make_settings: Any) -> None:
    token = "scrape-token-0123456789"
    with serve(make_settings(metrics_token=token)) as url:
        assert refused(httpx.get(f"{url}/metrics"), 401, 1).startswith("GET /metrics needs")
        wrong = {"Authorization": "Bearer scrape-token-0123456780"}
        refused(httpx.get(f"{url}/metrics", headers=wrong), 401, 1)
        samples = scrape(url, token)
        assert value(samples, "facegate_model_info", model="fake", calculator="fake-calculator")
