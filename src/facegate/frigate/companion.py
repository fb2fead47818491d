"""The Frigate companion: Frigate's person events in, names out (docs/frigate.md).

It subscribes to Frigate's `<frigate_topic_prefix>/events` on the MQTT broker of
`mqtt_url`; for each person on the configured cameras it fetches the event's snapshot from
Frigate's API whenever Frigate finds a better one, recognises the snapshots so far as a burst
(`collection.bursts`, each snapshot's faces matched as a photo's: rejections, one subject per
photo), writes a recognised name back as the event's sub-label, and when the event ends
publishes one `frigate.recognized` or `frigate.unrecognized` event through the service's
outbox (webhooks, MQTT) and keeps an unknown face where the service keeps them.
One thread handles the messages in order; nothing here blocks paho's network thread.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import socket
import threading
from collections import OrderedDict
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.orm import Session, sessionmaker

from facegate import face_services
from facegate.collection import bursts, statistics, unknown
from facegate.collection.recognition import Matching, Recognitions
from facegate.collection.search import Search
from facegate.config import Settings
from facegate.db.tables import Service, utcnow
from facegate.engine.similarity import round5
from facegate.errors import FacegateError, NoFaceFound
from facegate.events import outbox
from facegate.frigate import events
from facegate.frigate.client import FrigateClient, FrigateUnreachable
from facegate.inference import FaceQuery, Image, Inference
from facegate.metrics import FRIGATE_EVENTS, FRIGATE_UP

log = logging.getLogger(__name__)

# Events followed at once; past it the oldest is forgotten (Frigate ends every event, but a
# restart of Frigate may leave some without their end).
MAX_OPEN_EVENTS = 100
# Messages waiting for the handler; past it Frigate's messages are dropped (and counted).
MAX_WAITING = 1000


class FrigateCompanion:
    """Started in the app's lifespan (in one process of a server: `claim`), stopped at
    shutdown; `health()` is what /healthz shows of it."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        inference: Inference,
        index: Search,
        settings: Settings,
        *,
        client: FrigateClient | None = None,
    ) -> None:
        if not settings.frigate_url or not settings.mqtt_url:
            raise ValueError("the Frigate companion needs frigate_url and mqtt_url")
        self._sessions = sessions
        self._inference = inference
        self._recognitions = Recognitions(sessions, inference, index, unknown.Limits.of(settings))
        self._settings = settings
        self._cameras = events.cameras(settings.frigate_cameras)
        self._client = client or FrigateClient(
            settings.frigate_url,
            timeout=settings.frigate_timeout_seconds,
            snapshot_height=settings.frigate_snapshot_height,
            crop=settings.frigate_snapshot_crop,
        )
        self._topic = f"{settings.frigate_topic_prefix}/events"
        self._available_topic = f"{settings.frigate_topic_prefix}/available"
        self._messages: queue.Queue[bytes | None] = queue.Queue(MAX_WAITING)
        self._tracked: OrderedDict[str, events.Tracked] = OrderedDict()
        self._lock = threading.Lock()
        self._health: dict[str, Any] = {
            "mqtt": "not connected yet",
            "frigate": "unknown",  # what Frigate last said on <prefix>/available
            "api": "not called yet",
            "service": None,  # the environment's service: "ok", or why there is none
            "events": 0,
            "last_event": None,
        }
        self._thread = threading.Thread(target=self._run, name="facegate-frigate", daemon=True)
        parts = urlsplit(settings.mqtt_url)
        self._client_mqtt = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"facegate-frigate-{socket.gethostname()}-{os.getpid()}",
        )
        if parts.username:
            self._client_mqtt.username_pw_set(
                unquote(parts.username), unquote(parts.password or "")
            )
        if parts.scheme == "mqtts":
            self._client_mqtt.tls_set()
        self._client_mqtt.on_connect = self._connected
        self._client_mqtt.on_disconnect = self._disconnected
        self._client_mqtt.on_message = self._received
        self._broker = (
            parts.hostname or "localhost",
            parts.port or (8883 if parts.scheme == "mqtts" else 1883),
        )

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self._client_mqtt.connect_async(*self._broker)
        self._client_mqtt.loop_start()

    def stop(self) -> None:
        """Stop listening, finish the message in hand, drop the rest."""
        self._client_mqtt.disconnect()
        self._client_mqtt.loop_stop()
        self._messages.put(None)
        self._thread.join(60)

    def health(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._health)

    def _set(self, **values: Any) -> None:
        with self._lock:
            self._health.update(values)

    # --- MQTT (paho's network thread) ------------------------------------------------------

    def _connected(
        self, client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            self._set(mqtt=f"not connected to the MQTT broker: {reason}")
            FRIGATE_UP.labels("mqtt").set(0)
            return
        client.subscribe([(self._topic, 1), (self._available_topic, 1)])
        self._set(mqtt="connected")
        FRIGATE_UP.labels("mqtt").set(1)

    def _disconnected(
        self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self._set(mqtt=f"not connected to the MQTT broker: {reason}")
        FRIGATE_UP.labels("mqtt").set(0)

    def _received(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == self._available_topic:
            self._set(frigate=message.payload.decode(errors="replace")[:20])
            return
        try:
            self._messages.put_nowait(bytes(message.payload))
        except queue.Full:
            FRIGATE_EVENTS.labels("dropped").inc()
            log.warning("Frigate messages arrive faster than facegate handles them: one dropped")

    # --- the handler thread ----------------------------------------------------------------

    def _run(self) -> None:
        while (payload := self._messages.get()) is not None:
            try:
                self.handle(payload)
            except Exception:  # one bad event must not end the companion
                FRIGATE_EVENTS.labels("failed").inc()
                log.exception("could not handle a Frigate event")

    def handle(self, payload: bytes) -> None:
        """One `frigate/events` message: fetch, recognise, write back, publish at the end."""
        event = events.parse(payload)
        if event is None:
            log.warning("not a Frigate event message: %r", payload[:200])
            return
        if event.label != events.PERSON:
            return
        tracked = self._tracked.pop(event.id, None)
        if tracked is None:
            service_id = self._route(event.camera)
            if service_id is None:  # a camera no service takes
                return
            tracked = events.Tracked(event, service_id)
        if not event.ended:
            self._tracked[event.id] = tracked  # last: the most recently seen
            while len(self._tracked) > MAX_OPEN_EVENTS:
                self._tracked.popitem(last=False)
        if tracked.needs_snapshot(event, max_frames=self._settings.frigate_max_frames):
            try:
                frame = self._client.snapshot(event.id)
            except FrigateUnreachable as error:
                self._unreachable(error)
            else:
                self._set(api="reachable")
                FRIGATE_UP.labels("api").set(1)
                tracked.add(event, frame)
        tracked.event = event
        if event.ended:
            self._finish(tracked)
        elif len(tracked.frames) > tracked.recognised_frames:
            self._recognise(tracked, final=False)

    def _unreachable(self, error: FrigateUnreachable) -> None:
        self._set(api=f"unreachable: {error}")
        FRIGATE_UP.labels("api").set(0)
        log.warning("Frigate's API is unreachable: %s", error)

    def _route(self, camera: str) -> int | None:
        """The service that takes `camera`'s person events: the environment's, then those
        whose Frigate cameras are set in the UI, oldest first (decisions.md D44)."""
        candidates: list[tuple[int, frozenset[str]]] = []
        with self._sessions() as s:
            key = self._settings.frigate_service_key
            if key:
                service = face_services.service_by_key(s, api_key=key, type="recognition")
                # Not the service's name: /healthz answers anyone who asks.
                self._set(
                    service="ok"
                    if service is not None
                    else "no recognition service has the key frigate_service_key"
                )
                if service is not None:
                    candidates.append((service.id, self._cameras))
            candidates += [
                (service_id, events.cameras(names))
                for service_id, names in face_services.frigate_services(s)
            ]
        return events.chosen(camera, candidates)

    def _service(self, s: Session, tracked: events.Tracked) -> Service | None:
        """The event's service as it is now (its threshold, its switches); None if deleted."""
        return s.get(Service, tracked.service_id)

    def _recognise(self, tracked: events.Tracked, *, final: bool) -> bursts.Track | None:
        """The frames so far as a burst: the heaviest person's track (None: no face), its name
        written to Frigate when recognised and new."""
        with self._sessions() as s:
            service = self._service(s, tracked)
            if service is None:
                return None
            # Matched as a photo sent to /recognize is, by the service's own settings.
            matching = Matching.of(service, count=1, per_subject=True, requested=None, unique=None)
            match = self._recognitions.matcher(s, service, matching)
        tracked.recognised_frames = len(tracked.frames)
        event = tracked.event
        frames = [Image(frame, f"{event.id}-{n}.jpg") for n, frame in enumerate(tracked.frames)]
        try:
            burst = bursts.recognize(
                self._inference,
                frames,
                query=FaceQuery(),
                match=match,
                min_similarity=matching.min_similarity,
                pictures=final and service.keep_unknown_faces,
            )
        except NoFaceFound:
            return None
        best = max(burst.tracks, key=lambda track: sum(e.sighting.weight for e in track.evidence))
        subject, similarity = best.verdict.subject, best.verdict.similarity
        if subject is not None and subject != tracked.written and similarity is not None:
            try:
                self._client.set_sub_label(event.id, subject, similarity)
            except FrigateUnreachable as error:
                self._unreachable(error)
            else:
                tracked.written = subject
        return best

    def _finish(self, tracked: events.Tracked) -> None:
        """The event ended: the final answer, published once; an unknown face kept."""
        event = tracked.event
        try:
            best = self._recognise(tracked, final=True) if tracked.frames else None
        except FacegateError as error:  # an unreadable snapshot, a full inference queue
            FRIGATE_EVENTS.labels("failed").inc()
            log.warning("could not recognise Frigate event %s: %s", event.id, error.message)
            return
        self._set(events=self.health()["events"] + 1, last_event=utcnow().isoformat())
        if best is None:
            FRIGATE_EVENTS.labels("no_face").inc()
            return
        verdict = best.verdict
        FRIGATE_EVENTS.labels("recognized" if verdict.subject else "unknown").inc()
        with self._sessions() as s, s.begin():
            service = self._service(s, tracked)
            if service is None:
                return
            data = {
                "subject": verdict.subject or verdict.closest,
                "similarity": None if verdict.similarity is None else round5(verdict.similarity),
                "frigate_event": event.id,
                "camera": event.camera,
                "frames": len(tracked.frames),
                "faces": len(best.evidence),
                "sub_label": tracked.written,
                "box": best.best.face.box.as_json(rounded=True),
                "start_time": event.start_time,
                "end_time": event.end_time,
            }
            kind = outbox.FRIGATE_RECOGNIZED if verdict.subject else outbox.FRIGATE_UNRECOGNIZED
            outbox.publish(s, service=service, events=[(kind, data)])
            statistics.count_request(s, service=service)
        if verdict.subject is None:
            source = f"frigate:{event.camera}"[:64]
            self._recognitions.keep_strangers(service, [best.best.face], source=source)


def claim(folder: Path) -> IO[bytes] | None:
    """An exclusive lock on `folder/frigate.lock`, held while the returned file stays open: the
    one process of a server (`serve --workers N`) that runs the companion; None in the others,
    so every Frigate event is handled once."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = (folder / "frigate.lock").open("ab")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None
    return lock
