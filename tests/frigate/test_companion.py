"""The Frigate companion end to end: Frigate's event sequences (new, update, end) replayed by a
stand-in Frigate (tests/support/frigate.py) through the local Mosquitto, recognised on the real
engine and both databases; the sub-label written back, one facegate event, unknown faces."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from facegate import face_services
from facegate.collection import unknown
from facegate.config import Settings
from facegate.db.session import session_factory
from facegate.db.tables import OutboxEvent
from facegate.errors import InvalidParameter
from facegate.events import homeassistant
from tests.support.bursts import one_good_among_poor
from tests.support.frigate import companion, frigate_health
from tests.support.mqtt import forget_retained, subscribed
from tests.support.receiver import wait_for


def test_an_enrolled_persons_event_ends_with_the_sub_label_one_event_and_the_sensor(
    make_settings: Callable[..., Settings], face_engine: Any, faces_dir: Path
) -> None:
    discovery = f"ha-{uuid.uuid4().hex[:12]}"
    with (
        companion(
            make_settings,
            face_engine,
            faces_dir,
            homeassistant_discovery=True,
            homeassistant_discovery_prefix=discovery,
        ) as (api, frigate, prefix),
        subscribed(f"{prefix}/+/frigate/#") as got,
        subscribed(f"{prefix}/homeassistant/#") as states,
        subscribed(f"{discovery}/#") as configs,
    ):
        event = "1607123955.475377-mxklsc"
        # Two poor snapshots first: the sub-label is written once the good one arrives.
        frigate.replay(event, one_good_among_poor(faces_dir / "fr_obama2.jpg"))
        wait_for(lambda: len(got) >= 1, "the facegate event")
        assert [body["subLabel"] for _, body in frigate.sub_labels] == ["obama"]
        assert frigate.sub_labels[0][1]["subLabelScore"] > 0.9
        # Frigate draws nothing on the snapshots facegate asks for.
        assert frigate.fetched[0] == (event, {"bbox": "0", "timestamp": "0", "crop": "0"})
        assert frigate.fetches(event) == 4
        health = frigate_health(api)
        assert (health["api"], health["service"], health["events"]) == (
            "reachable",
            "ok",
            1,
        )
        with api.session() as s:
            written = s.scalars(select(OutboxEvent.type)).all()
        wait_for(lambda: len(states) >= 2, "Home Assistant's states")
        with api.session() as s:
            guid = api.service(s).guid
    assert written.count("frigate.recognized") == 1 and "frigate.unrecognized" not in written
    # Home Assistant's entities, announced (retained) when the worker connected, and the
    # subject's binary sensor when Obama was added.
    node = homeassistant.node_id(guid)
    seen = f"seen_{homeassistant.subject_id('obama')}"
    announced = {m.topic: json.loads(m.payload) for m in configs if m.payload}
    forget_retained([m.topic for m in configs if m.retain or m.payload] + [m.topic for m in states])
    assert f"{discovery}/sensor/{node}/last_person/config" in announced
    assert f"{discovery}/binary_sensor/{node}/{seen}/config" in announced
    sensor = announced[f"{discovery}/sensor/{node}/last_person/config"]
    assert sensor["state_topic"] == f"{prefix}/homeassistant/{guid}/last_person"
    by_topic = {m.topic: m.payload for m in states}
    last = json.loads(by_topic[sensor["state_topic"]])
    assert (last["subject"], last["camera"]) == ("obama", "front_door")
    assert by_topic[f"{prefix}/homeassistant/{guid}/seen/{seen.removeprefix('seen_')}"] == b"ON"
    message = json.loads(got[0].payload)
    assert got[0].topic == f"{prefix}/recognition/frigate/recognized"
    assert message["type"] == "frigate.recognized"
    data = message["data"]
    assert (data["subject"], data["frigate_event"], data["camera"]) == (
        "obama",
        event,
        "front_door",
    )
    assert (data["frames"], data["faces"], data["sub_label"]) == (4, 4, "obama")
    assert data["similarity"] > 0.9


def test_a_strangers_event_ends_unknown_and_in_unknown_faces(
    make_settings: Callable[..., Settings], face_engine: Any, faces_dir: Path
) -> None:
    with (
        companion(make_settings, face_engine, faces_dir) as (api, frigate, prefix),
        subscribed(f"{prefix}/+/frigate/#") as got,
    ):
        with api.session() as s:
            api.service(s).keep_unknown_faces = True
        frigate.replay("1607124000.1-stranger", one_good_among_poor(faces_dir / "fp_paul_rudd.jpg"))
        wait_for(lambda: len(got) >= 1, "the facegate event")
        with api.session() as s:
            clusters = unknown.list_clusters(s, service=api.service(s), min_faces=1)
    assert frigate.sub_labels == []
    message = json.loads(got[0].payload)
    assert message["type"] == "frigate.unrecognized"
    assert message["data"]["sub_label"] is None
    assert message["data"]["similarity"] < 0.5
    assert [len(cluster.faces) for cluster in clusters] == [1]


def test_a_rejection_holds_for_frigates_events(
    make_settings: Callable[..., Settings], face_engine: Any, faces_dir: Path
) -> None:
    """The snapshots are matched as a photo is (decisions.md D66): "this face is not Obama",
    recorded for the sharp snapshot's face, leaves the event the first test names unnamed."""
    with (
        companion(make_settings, face_engine, faces_dir) as (api, frigate, prefix),
        subscribed(f"{prefix}/+/frigate/#") as got,
    ):
        [face] = api.recognize("fr_obama2.jpg", face_plugins="calculator").json()["result"]
        rejection = {"subject": "obama", "embedding": face["embedding"]}
        added = api.request("POST", "/api/v1/recognition/rejections", json=rejection)
        assert added.status_code == 201, added.text
        frigate.replay("1607124100.2-rejected", one_good_among_poor(faces_dir / "fr_obama2.jpg"))
        wait_for(lambda: len(got) >= 1, "the facegate event")
    assert frigate.sub_labels == []
    assert json.loads(got[0].payload)["type"] == "frigate.unrecognized"


def test_other_labels_and_cameras_are_left_alone(
    make_settings: Callable[..., Settings], face_engine: Any, faces_dir: Path
) -> None:
    cameras = "front_door, garden"
    with companion(make_settings, face_engine, faces_dir, frigate_cameras=cameras) as found:
        frigate = found[1]
        photo = (faces_dir / "fr_obama2.jpg").read_bytes()
        frigate.replay("1.0-car", [photo], label="car")
        frigate.replay("2.0-street", [photo], camera="street", wait=False)
        frigate.replay("3.0-garden", [photo], camera="garden")
        wait_for(lambda: frigate.sub_labels != [], "the garden's sub-label")
    assert [event for event, _ in frigate.fetched] == ["3.0-garden"]


def test_an_unreachable_frigate_is_seen_in_healthz_and_metrics(
    make_settings: Callable[..., Settings], face_engine: Any, faces_dir: Path
) -> None:
    with companion(make_settings, face_engine, faces_dir) as (api, frigate, _):
        assert frigate_health(api)["api"] == "not called yet"
        frigate.__exit__()  # Frigate's API goes away; its messages still arrive
        frigate.replay("5.0-away", [(faces_dir / "fr_obama2.jpg").read_bytes()], wait=False)
        wait_for(
            lambda: frigate_health(api)["api"].startswith("unreachable: "), "the failure shown"
        )
        assert api.client.get("/healthz").json()["status"] == "OK"
        assert 'facegate_frigate_up{link="api"} 0.0' in api.client.get("/metrics").text


def test_services_choose_their_cameras_and_the_environments_comes_first(
    make_settings: Callable[..., Settings], face_engine: Any, faces_dir: Path
) -> None:
    """The environment's service takes its cameras (front_door); a service set in the UI to
    every camera takes the rest; a service set to none takes nothing (decisions.md D44)."""
    cameras = "front_door"
    with (
        companion(make_settings, face_engine, faces_dir, frigate_cameras=cameras) as found,
        subscribed(f"{found[2]}/+/frigate/#") as got,
    ):
        api, frigate, _ = found
        with api.session() as s:
            app = face_services.default_application(s)
            garden = face_services.create_service(s, app=app, name="garden", type="recognition")
            face_services.change_settings(s, service=garden, frigate_cameras="")
            garden.mqtt_events = True
            off = face_services.create_service(s, app=app, name="off", type="recognition")
            face_services.change_settings(s, service=off, frigate_cameras="driveway")
            face_services.change_settings(s, service=off, frigate_cameras=None)
        photo = (faces_dir / "fr_obama2.jpg").read_bytes()
        frigate.replay("7.0-door", [photo], camera="front_door")
        frigate.replay("8.0-garden", [photo], camera="garden")
        wait_for(lambda: len(got) >= 2, "two facegate events")
    by_topic = {m.topic.split("/")[1]: json.loads(m.payload)["data"] for m in got}
    assert by_topic["recognition"]["subject"] == "obama"  # the environment's knows Obama
    assert by_topic["garden"]["frigate_event"] == "8.0-garden"
    assert by_topic["garden"]["subject"] is None  # an empty collection knows no one
    assert [event for event, _ in frigate.sub_labels] == ["7.0-door"]


def test_a_service_set_in_the_ui_alone(
    make_settings: Callable[..., Settings], face_engine: Any, faces_dir: Path
) -> None:
    with companion(make_settings, face_engine, faces_dir, by_environment=False) as found:
        api, frigate, _ = found
        photo = (faces_dir / "fr_obama2.jpg").read_bytes()
        # No service takes any camera yet, nor will one take this camera: the companion may
        # read the event before or after the cameras below are set, and ignores it either way.
        frigate.replay("9.0-nobody", [photo], camera="street", wait=False)
        with api.session() as s:
            cameras = " front_door,garden front_door "
            face_services.change_settings(s, service=api.service(s), frigate_cameras=cameras)
            assert api.service(s).frigate_cameras == "front_door,garden"
        frigate.replay("10.0-door", [photo])
        wait_for(lambda: frigate.sub_labels != [], "the sub-label")
    assert [event for event, _ in frigate.fetched] == ["10.0-door"]
    assert frigate.sub_labels[0][1]["subLabel"] == "obama"


def test_frigate_cameras_are_names_of_a_recognition_service(db_engine: Any) -> None:
    with session_factory(db_engine).begin() as s:
        app = face_services.default_application(s)
        door = face_services.create_service(s, app=app, name="door", type="recognition")
        with pytest.raises(InvalidParameter, match="letters, digits"):
            face_services.change_settings(s, service=door, frigate_cameras="front door!")
        with pytest.raises(InvalidParameter, match="At most 500"):
            face_services.change_settings(s, service=door, frigate_cameras="a" * 501)
        detect = face_services.create_service(s, app=app, name="d", type="detection")
        with pytest.raises(InvalidParameter, match="Only a recognition service"):
            face_services.change_settings(s, service=detect, frigate_cameras="")
        face_services.change_settings(s, service=door, frigate_cameras="")
        assert face_services.frigate_services(s) == [(door.id, "")]


def test_frigate_needs_a_broker(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="frigate_url needs mqtt_url"):
        Settings(data_dir=tmp_path, frigate_url="http://frigate:5000")
    Settings(data_dir=tmp_path, frigate_url="http://frigate:5000", mqtt_url="mqtt://broker")
