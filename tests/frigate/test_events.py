"""Frigate's `frigate/events` messages as facegate reads them (frigate/events.py), on the
payload of Frigate's MQTT documentation and its older shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from facegate.frigate.events import Tracked, cameras, chosen, parse
from tests.support.frigate import tracked_object


def message(type: str = "update", **after: Any) -> bytes:
    body = tracked_object(
        "1607123955.475377-mxklsc",
        "front_door",
        "person",
        1607123955.47,
        snapshot_time=1607123965.97,
    )
    return json.dumps({"type": type, "before": body, "after": body | after}).encode()


def test_a_documented_message() -> None:
    event = parse(message(sub_label=["John Smith", 0.79]))
    assert event is not None
    assert (event.type, event.id, event.camera, event.label) == (
        "update",
        "1607123955.475377-mxklsc",
        "front_door",
        "person",
    )
    assert (event.snapshot_time, event.start_time, event.end_time) == (
        1607123965.97,
        1607123955.47,
        None,
    )
    assert event.sub_label == "John Smith" and not event.ended
    end = parse(message("end", end_time=1607123970.0))
    assert end is not None and end.ended and end.end_time == 1607123970.0


def test_older_shapes() -> None:
    """Before Frigate 0.14: `snapshot_time` instead of `snapshot`; before 0.13 a plain
    `sub_label` string."""
    event = parse(message(snapshot=None, snapshot_time=12.5, sub_label="Ann"))
    assert event is not None and (event.snapshot_time, event.sub_label) == (12.5, "Ann")


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[]", b'{"type": "new"}', b'{"type": "gone", "after": {}}', message(id="")],
)
def test_what_is_not_an_event(payload: bytes) -> None:
    assert parse(payload) is None


def test_the_first_service_whose_cameras_name_the_camera_takes_it() -> None:
    candidates = [(3, cameras("front_door")), (1, cameras("garden, driveway")), (2, cameras(""))]
    assert chosen("front_door", candidates) == 3
    assert chosen("driveway", candidates) == 1
    assert chosen("street", candidates) == 2  # no cameras named: every camera
    assert chosen("street", candidates[:2]) is None
    assert cameras(" a,b  c,,") == {"a", "b", "c"}


def test_a_snapshot_is_fetched_once_per_frame_and_up_to_the_limit() -> None:
    first = parse(message("new"))
    assert first is not None
    tracked = Tracked(first, service_id=1)
    assert tracked.needs_snapshot(first, max_frames=2)
    tracked.add(first, b"jpeg 1")
    assert not tracked.needs_snapshot(first, max_frames=2)  # the same snapshot again
    better = parse(message(snapshot={"frame_time": 1607123966.5}))
    assert better is not None and tracked.needs_snapshot(better, max_frames=2)
    tracked.add(better, None)  # Frigate had none to give: recorded, nothing kept
    assert tracked.frames == [b"jpeg 1"]
    third = parse(message(snapshot={"frame_time": 1607123967.0}))
    assert third is not None and tracked.needs_snapshot(third, max_frames=2)
    tracked.add(third, b"jpeg 3")
    fourth = parse(message(snapshot={"frame_time": 1607123968.0}))
    assert fourth is not None and not tracked.needs_snapshot(fourth, max_frames=2)
