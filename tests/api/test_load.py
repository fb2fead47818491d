"""Many clients: the bounded inference queue answers 503 with Retry-After once it is full,
instead of letting requests wait without end (docs/performance.md, "Many clients")."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from facegate.engine.faces import Analysis
from tests.support.clients import Api, running_api
from tests.support.fake_engine import FakeEngine


class Gated:
    """An engine whose calls wait until the test opens the gate: the first request holds the
    one inference slot as long as the test needs. Wraps the real engine or the fake one."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.gate = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def analyze(self, image: bytes, *args: Any, **kwargs: Any) -> Analysis:
        assert self.gate.wait(timeout=60), "the test never opened the gate"
        analysis: Analysis = self.engine.analyze(image, *args, **kwargs)
        return analysis


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "the server never reached the expected state"
        time.sleep(0.01)


def _recognize(api: Api) -> httpx.Response:
    return api.recognize("fr_obama.jpg")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("real", [True, False], ids=["real engine", "fake engine"])
def test_a_full_queue_answers_503_with_retry_after(
    make_settings: Callable[..., Any], face_engine: Any, faces_dir: Path, real: bool
) -> None:
    settings = make_settings(max_concurrent_inferences=1, max_queued_inferences=2)
    engine = Gated(face_engine if real else FakeEngine(faces_dir))
    with running_api(settings, engine, faces_dir) as api, ThreadPoolExecutor(3) as pool:
        inference = api.app.state.inference
        running = pool.submit(_recognize, api)
        _wait_until(lambda: inference.running == 1)
        queued = [pool.submit(_recognize, api) for _ in range(2)]
        _wait_until(lambda: inference.waiting == 2)
        refused = _recognize(api)
        # Other endpoints never queue for inference: they still answer.
        listed = api.request("GET", "/api/v1/recognition/faces")
        engine.gate.set()
        answers = [running.result(), *(f.result() for f in queued)]
        after = _recognize(api)  # the queue has drained: admitted again
    assert refused.status_code == 503
    assert int(refused.headers["retry-after"]) >= 1
    body = refused.json()
    assert body["code"] == 0
    assert body["message"].startswith("The server is busy: 2 requests are waiting")
    assert listed.status_code == 200
    assert [a.status_code for a in [*answers, after]] == [200] * 4
    assert answers[0].json()["result"][0]["box"]["probability"] > 0.9
