"""Frigate's `<topic_prefix>/events` messages as facegate reads them, and what one tracked
person needs while its event lasts (docs/frigate.md).

Pure: a message in, a decision out, so the companion and the tests share one reading of
Frigate's payload (its MQTT documentation, `frigate/events`: `type` new, update or end, and
the tracked object `before` and `after`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

PERSON = "person"
TYPES = ("new", "update", "end")


@dataclass(frozen=True)
class FrigateEvent:
    """One `frigate/events` message: its type and the tracked object after the change."""

    type: str  # new | update | end
    id: str
    camera: str
    label: str
    # When the event's best snapshot was taken (Frigate moves it when it finds a better one);
    # None: no snapshot yet.
    snapshot_time: float | None
    start_time: float | None
    end_time: float | None
    sub_label: str | None

    @property
    def ended(self) -> bool:
        return self.type == "end"


def parse(payload: bytes) -> FrigateEvent | None:
    """The message, or None when it is not one facegate can read (logged by the caller)."""
    try:
        message = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("type") not in TYPES:
        return None
    after = message.get("after")
    if not isinstance(after, dict):
        return None
    ident, camera, label = after.get("id"), after.get("camera"), after.get("label")
    if not all(isinstance(value, str) and value for value in (ident, camera, label)):
        return None
    return FrigateEvent(
        type=message["type"],
        id=str(ident),
        camera=str(camera),
        label=str(label),
        snapshot_time=_snapshot_time(after),
        start_time=_number(after.get("start_time")),
        end_time=_number(after.get("end_time")),
        sub_label=_sub_label(after.get("sub_label")),
    )


def _snapshot_time(after: dict[str, Any]) -> float | None:
    """`snapshot.frame_time` (Frigate 0.14 and later), else the older `snapshot_time`."""
    snapshot = after.get("snapshot")
    if isinstance(snapshot, dict):
        return _number(snapshot.get("frame_time"))
    return _number(after.get("snapshot_time"))


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _sub_label(value: object) -> str | None:
    """`["John", 0.79]` (Frigate 0.13 and later) or `"John"` (older)."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return value if isinstance(value, str) else None


def chosen(camera: str, candidates: Sequence[tuple[int, Collection[str]]]) -> int | None:
    """The service (its id) that takes the person events of `camera`: the first of
    `candidates` (the environment's service, then the others by age: decisions.md D44) whose
    cameras name it, or are none (every camera)."""
    for service_id, names in candidates:
        if not names or camera in names:
            return service_id
    return None


def cameras(setting: str) -> frozenset[str]:
    """`frigate_cameras` as a set: names separated by commas or spaces."""
    return frozenset(name for name in setting.replace(",", " ").split() if name)


@dataclass
class Tracked:
    """What facegate holds for one Frigate event while it lasts: its service, the frames
    fetched so far and the name it last wrote as the event's sub-label."""

    event: FrigateEvent
    service_id: int  # the service that recognises it, chosen at its first message
    frames: list[bytes] = field(default_factory=list)
    fetched: set[float | None] = field(default_factory=set)
    written: str | None = None
    recognised_frames: int = 0  # how many frames the last recognition saw

    def needs_snapshot(self, event: FrigateEvent, *, max_frames: int) -> bool:
        """Whether `event` (a message of this one) brings a snapshot not fetched yet: the first
        message, or Frigate moved the snapshot to a better frame; at most `max_frames`."""
        if len(self.frames) >= max_frames:
            return False
        return event.snapshot_time not in self.fetched

    def add(self, event: FrigateEvent, frame: bytes | None) -> None:
        """Record the snapshot of `event` as fetched (None: Frigate had none to give)."""
        self.event = event
        self.fetched.add(event.snapshot_time)
        if frame is not None:
            self.frames.append(frame)
