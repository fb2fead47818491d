"""`dry_run` (a facegate extension, docs/api.md; docs/decisions.md D58): recognize, detect and
verify answer as usual and change nothing: no event, no unknown face kept, no request counted.
The web UI's test page sends it unless its "Live call" switch is on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from facegate import face_services
from facegate.db.tables import Delivery, RequestStat, UnknownFace
from tests.support.clients import Api, ok, refused, running_api


def _traces(api: Api) -> dict[str, int]:
    """What calls leave behind: deliveries waiting, unknown faces kept, requests counted."""
    with api.session() as s:
        return {
            "deliveries": s.scalar(select(func.count()).select_from(Delivery)) or 0,
            "unknown faces": s.scalar(select(func.count()).select_from(UnknownFace)) or 0,
            "requests": s.scalar(select(func.coalesce(func.sum(RequestStat.count), 0))) or 0,
        }


def test_a_dry_run_leaves_no_trace(settings: Any, face_engine: Any, faces_dir: Path) -> None:
    with running_api(settings, face_engine, faces_dir) as api:
        with api.session() as s:
            service = api.service(s)
            service.mqtt_events = True  # no broker: each event would wait as a delivery
            face_services.change_settings(s, service=service, keep_unknown_faces=True)
        dry = ok(api.recognize("fr_obama.jpg", dry_run="true"))
        detected = api.request(
            "POST",
            "/api/v1/detection/detect",
            "detection",
            params={"dry_run": "yes"},
            files={"file": ("fr_obama.jpg", api.photo("fr_obama.jpg"), "image/jpeg")},
        )
        ok(detected)
        ok(api.verify("fr_obama.jpg", "fr_obama2.jpg", dry_run="1"))
        assert _traces(api) == {"deliveries": 0, "unknown faces": 0, "requests": 0}

        live = ok(api.recognize("fr_obama.jpg"))
        assert _traces(api) == {"deliveries": 1, "unknown faces": 1, "requests": 1}
        refused(api.recognize("fr_obama.jpg", dry_run="maybe"), 400, 26)
    # The answer is the same either way: a stranger, with the same box.
    assert dry["result"][0]["box"] == live["result"][0]["box"]
    assert dry["result"][0]["subjects"] == live["result"][0]["subjects"] == []
