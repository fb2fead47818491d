"""`facegate serve --workers 2` on both databases: two processes, each with its delivery
worker, share one outbox; every event reaches the receiver once, in the order written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from facegate import face_services
from facegate.events import hooks
from tests.support.receiver import FAST, Receiver, wait_for
from tests.support.servers import database, free_port, serving


@pytest.mark.slow
def test_worker_processes_share_the_outbox(
    make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, setting in FAST.items():  # the served processes read them from the environment
        monkeypatch.setenv(f"FACEGATE_{name.upper()}", str(setting))
    settings = make_settings()
    port = free_port()
    with (
        Receiver(port) as receiver,
        serving(settings.resolved_database_url, settings.data_dir, "--workers", "2") as url,
    ):
        with database(settings) as sessions, sessions() as s, s.begin():
            service = face_services.create_service(
                s, app=face_services.default_application(s), name="door", type="recognition"
            )
            hooks.add(
                s, service=service, url=f"http://127.0.0.1:{port}/", event_types=[], enabled=True
            )
            key = service.api_key
        names = [f"person {n}" for n in range(40)]
        with httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=60) as client:
            for name in names:
                created = client.post("/api/v1/recognition/subjects", json={"subject": name})
                assert created.status_code == 201, created.text
        wait_for(lambda: len(receiver.received) >= len(names), "every event")
    assert [r.event["data"]["subject"] for r in receiver.received] == names
