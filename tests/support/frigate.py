"""A stand-in for Frigate: the two calls of its HTTP API that facegate makes, and its MQTT event
messages replayed through a broker, built only from Frigate's published API and MQTT
documentation and source (Frigate itself cannot run here).

- `GET /api/events/<id>/snapshot.jpg?bbox=&timestamp=&crop=&height=`: the event's current
  best snapshot (JPEG), 404 `{"success": false, "message": "Snapshot not available"}` without
  one (frigate/api/media.py, event_snapshot).
- `POST /api/events/<id>/sub_label` `{"subLabel": str (<= 100), "subLabelScore": 0 < float <=
  1 or null, "camera": optional}`: 200 `{"success": true, "message": ...}`, 404 for an unknown
  event, 422 for a body out of that shape (frigate/api/event.py, set_sub_label, and
  frigate/api/defs/request/events_body.py, EventsSubLabelBody).
- `<topic_prefix>/events`: `{"type": "new" | "update" | "end", "before": {...}, "after":
  {...}}`, the tracked object as docs/docs/integrations/mqtt.md shows it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from facegate import face_services
from facegate.config import Settings
from facegate.db.session import upgrade
from tests.support.clients import Api, running_api
from tests.support.mqtt import BROKER
from tests.support.receiver import FAST, wait_for
from tests.support.servers import create_service, free_port
from tests.support.services import require_broker


@dataclass
class StandInFrigate:
    """Listening from `__enter__` to `__exit__`. `snapshots[id]` is what the snapshot call of
    event `id` answers now (None: 404); `fetched` and `sub_labels` record the calls."""

    topic_prefix: str = "frigate"
    snapshots: dict[str, bytes | None] = field(default_factory=dict)
    fetched: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    sub_labels: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        frigate = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                segments = parts.path.split("/")
                if segments[1:3] != ["api", "events"] or segments[-1] != "snapshot.jpg":
                    return self._json(404, {"detail": "Not Found"})
                event = unquote(segments[3])
                query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
                with frigate._lock:
                    frigate.fetched.append((event, query))
                    frame = frigate.snapshots.get(event)
                if frame is None:
                    return self._json(404, {"success": False, "message": "Snapshot not available"})
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(frame)))
                self.end_headers()
                self.wfile.write(frame)

            def do_POST(self) -> None:
                segments = urlsplit(self.path).path.split("/")
                if segments[1:3] != ["api", "events"] or segments[-1] != "sub_label":
                    return self._json(404, {"detail": "Not Found"})
                event = unquote(segments[3])
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                label, score = body.get("subLabel"), body.get("subLabelScore")
                if not isinstance(label, str) or len(label) > 100:
                    return self._json(422, {"detail": "subLabel"})
                if score is not None and not (isinstance(score, float) and 0 < score <= 1):
                    return self._json(422, {"detail": "subLabelScore"})
                with frigate._lock:
                    known = event in frigate.snapshots
                    if known:
                        frigate.sub_labels.append((event, body))
                if not known:
                    return self._json(
                        404, {"success": False, "message": f"Event {event} not found."}
                    )
                self._json(
                    200, {"success": True, "message": f"Event {event} sub label set to {label}"}
                )

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StandInFrigate:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fetches(self, event: str) -> int:
        with self._lock:
            return sum(1 for fetched, _ in self.fetched if fetched == event)

    def replay(
        self,
        event: str,
        frames: list[bytes],
        *,
        camera: str = "front_door",
        label: str = "person",
        broker: tuple[str, int] = BROKER,
        wait: bool = True,
    ) -> None:
        """Frigate's messages for one tracked object: `new` with the first frame as its
        snapshot, an `update` for each better snapshot (the next frame), then `end`. Each
        message waits until facegate fetched its snapshot, as Frigate's snapshot stays until
        a better frame replaces it (`wait=False`: it does not, for a Frigate whose API is down);
        a label facegate ignores is not waited for."""
        start = time.time()
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        client.connect(*broker)
        client.loop_start()
        try:
            before: dict[str, Any] | None = None
            for number, frame in enumerate(frames):
                with self._lock:
                    self.snapshots[event] = frame
                after = tracked_object(event, camera, label, start, snapshot_time=start + number)
                self._publish(client, "new" if number == 0 else "update", before or after, after)
                before = after
                if wait and label == "person":
                    wait_for(lambda n=number: self.fetches(event) > n, f"snapshot {number} fetched")
            assert before is not None
            end = tracked_object(
                event, camera, label, start, snapshot_time=before["snapshot"]["frame_time"]
            )
            end.update(end_time=start + len(frames), active=False)
            self._publish(client, "end", before, end)
        finally:
            client.disconnect()
            client.loop_stop()

    def _publish(
        self, client: mqtt.Client, type: str, before: dict[str, Any], after: dict[str, Any]
    ) -> None:
        payload = json.dumps({"type": type, "before": before, "after": after})
        info = client.publish(f"{self.topic_prefix}/events", payload, qos=1)
        info.wait_for_publish(30)
        assert info.is_published()


def tracked_object(
    event: str, camera: str, label: str, start: float, *, snapshot_time: float
) -> dict[str, Any]:
    """A tracked object as Frigate's `frigate/events` shows it (docs/docs/integrations/mqtt.md)."""
    return {
        "id": event,
        "camera": camera,
        "frame_time": snapshot_time,
        "snapshot": {
            "frame_time": snapshot_time,
            "box": [415, 489, 528, 700],
            "area": 12728,
            "region": [260, 446, 660, 846],
            "score": 0.77546,
            "attributes": [],
        },
        "label": label,
        "sub_label": None,
        "top_score": 0.958984375,
        "false_positive": False,
        "start_time": start,
        "end_time": None,
        "score": 0.7890625,
        "box": [424, 500, 536, 712],
        "area": 23744,
        "ratio": 2.113207,
        "region": [264, 450, 667, 853],
        "current_zones": ["driveway"],
        "entered_zones": ["yard", "driveway"],
        "thumbnail": None,
        "has_snapshot": True,
        "has_clip": True,
        "active": True,
        "stationary": False,
        "motionless_count": 0,
        "position_changes": 2,
        "attributes": {"face": 0.64},
        "current_attributes": [],
    }


@contextmanager
def companion(
    make_settings: Callable[..., Settings],
    face_engine: Any,
    faces_dir: Path,
    *,
    by_environment: bool = True,
    **overrides: Any,
) -> Iterator[tuple[Api, StandInFrigate, str]]:
    """A server whose recognition service (MQTT events on) knows Obama, with Frigate companion
    mode on against a stand-in Frigate, the service named by `frigate_service_key` unless not
    `by_environment`; topics of the test's own. Yields the API, the stand-in and facegate's
    topic prefix."""
    require_broker(BROKER)
    tag = uuid.uuid4().hex[:12]
    prefix, frigate_prefix = f"facegate-{tag}", f"frigate-{tag}"
    plain = make_settings()
    upgrade(plain)
    keys = {kind: create_service(plain, kind) for kind in face_services.SERVICE_TYPES}
    with StandInFrigate(topic_prefix=frigate_prefix) as frigate:
        settings = make_settings(
            mqtt_url="mqtt://127.0.0.1:1883",
            mqtt_topic_prefix=prefix,
            frigate_url=frigate.url,
            frigate_service_key=keys["recognition"] if by_environment else None,
            frigate_topic_prefix=frigate_prefix,
            **(FAST | overrides),
        )
        with running_api(settings, face_engine, faces_dir, keys) as api:
            with api.session() as s:
                api.service(s).mqtt_events = True
            assert api.add("obama", "fr_obama.jpg").status_code == 201
            wait_for(
                lambda: frigate_health(api).get("mqtt") == "connected", "the companion's broker"
            )
            yield api, frigate, prefix


def frigate_health(api: Api) -> dict[str, Any]:
    body: dict[str, Any] = api.client.get("/healthz").json()
    frigate: dict[str, Any] = body.get("frigate", {})
    return frigate
