"""facegate.face_services on SQLite and PostgreSQL: applications, services, request counts."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from facegate import face_services
from facegate.api.admin.schemas import ServiceSettingsFields
from facegate.collection import reads, rejections, statistics, store
from facegate.collection.quality_gate import QualityLimits
from facegate.db.session import session_factory
from facegate.db.tables import Example, Service, Subject
from facegate.errors import EmptyField, InvalidName, InvalidParameter, NameNotUnique
from tests.support.embeddings import CALC, add, vector

# --- applications and services -------------------------------------------------------------


def test_default_application_is_created_once(s: Session) -> None:
    first = face_services.default_application(s)
    assert face_services.default_application(s).id == first.id
    assert face_services.find_application(s, name=face_services.DEFAULT_APPLICATION) is first
    with pytest.raises(NameNotUnique, match="Name Default application is not unique"):
        face_services.create_application(s, name=face_services.DEFAULT_APPLICATION)


def test_services_named_across_applications(s: Session) -> None:
    """Names are unique within an application only: `facegate import --service` finds each."""
    home = face_services.create_application(s, name="Home")
    shop = face_services.create_application(s, name="Shop")
    door = face_services.create_service(s, app=home, name="door", type="recognition")
    other = face_services.create_service(s, app=shop, name="door", type="recognition")
    face_services.create_service(s, app=shop, name="door cam", type="recognition")
    lab = face_services.create_application(s, name="Lab")
    face_services.create_service(s, app=lab, name="door", type="detection")
    found = face_services.services_named(s, name="door", type="recognition")
    assert found == [door, other]
    assert face_services.services_named(s, name="door", type="recognition", app_name="Shop") == [
        other
    ]
    assert face_services.services_named(s, name="Door", type="recognition") == []


def test_service_by_key_checks_the_type(s: Session, service: Service) -> None:
    assert len(service.api_key) == 36
    assert face_services.service_by_key(s, api_key=service.api_key, type="recognition") is service
    assert face_services.service_by_key(s, api_key=service.api_key, type="detection") is None
    assert (
        face_services.service_by_key(
            s, api_key="00000000-0000-0000-0000-000000000000", type="recognition"
        )
        is None
    )
    assert face_services.service_by_guid(s, guid=service.guid) is service


def test_service_names_are_unique_per_application(s: Session, service: Service) -> None:
    with pytest.raises(NameNotUnique):
        face_services.create_service(s, app=service.application, name="faces", type="detection")
    other_app = face_services.create_application(s, name="other")
    assert (
        face_services.create_service(s, app=other_app, name="faces", type="detection").id
        != service.id
    )
    with pytest.raises(ValueError, match="service type"):
        face_services.create_service(s, app=other_app, name="x", type="nonsense")


def test_every_write_of_a_name_checks_it(s: Session, service: Service) -> None:
    """The names rule lives here, not in the callers (decisions.md D82): creating, renaming and
    cloning a service or an application checks the name, and stores it stripped."""
    app = service.application
    with pytest.raises(InvalidName):
        face_services.create_service(s, app=app, name="a;b", type="detection")
    with pytest.raises(InvalidName):
        face_services.clone_service(s, service=service, name="..")
    with pytest.raises(EmptyField, match="Field name cannot be empty"):
        face_services.rename_service(s, service=service, name=" ")
    with pytest.raises(InvalidParameter, match="Application name size"):
        face_services.create_application(s, name="x" * 51)
    assert face_services.create_service(s, app=app, name=" door ", type="detection").name == "door"
    # As in CompreFace's admin: its own name again is taken, the same name in another case not.
    with pytest.raises(NameNotUnique, match="Name faces is not unique"):
        face_services.rename_service(s, service=service, name="faces")
    face_services.rename_service(s, service=service, name="Faces")
    shop = face_services.application_named(s, name=" Shop ")
    assert shop.name == "Shop" and face_services.application_named(s, name="Shop") is shop
    with pytest.raises(NameNotUnique, match="Name Shop is not unique"):
        face_services.rename_application(s, application=app, name="Shop ")
    face_services.rename_application(s, application=app, name=app.name)  # its own: a no-op
    assert face_services.application_named(s, name=None) is face_services.default_application(s)


def test_list_services_counts_subjects_and_examples(s: Session, service: Service) -> None:
    empty = face_services.create_service(s, app=service.application, name="empty", type="detection")
    add(s, service, "Ann", 1)
    add(s, service, "ann", 2)
    add(s, service, "Bob", 3)
    store.create_subject(s, service=service, name="Cid")
    summaries = {summary.service.name: summary for summary in face_services.list_services(s)}
    assert (summaries["faces"].subject_count, summaries["faces"].example_count) == (3, 3)
    assert (summaries["empty"].subject_count, summaries["empty"].example_count) == (0, 0)
    assert [x.service.id for x in face_services.list_services(s, app=service.application)] == [
        empty.id,
        service.id,
    ]


def test_rename_regenerate_and_delete_service(s: Session, service: Service) -> None:
    face_services.create_service(s, app=service.application, name="taken", type="recognition")
    with pytest.raises(NameNotUnique):
        face_services.rename_service(s, service=service, name="taken")
    face_services.rename_service(s, service=service, name="renamed")
    old_key = service.api_key
    new_key = face_services.regenerate_key(s, service=service)
    assert new_key != old_key and service.api_key == new_key
    assert face_services.service_by_key(s, api_key=old_key, type="recognition") is None
    add(s, service, "Ann", 1, image=b"jpeg")
    statistics.count_request(s, service=service)
    service_id = service.id
    face_services.delete_service(s, service=service)
    # ON DELETE CASCADE (foreign keys are on in SQLite too) removes the whole collection.
    assert s.scalar(select(func.count()).select_from(Subject)) == 0
    assert s.scalar(select(func.count()).select_from(Example)) == 0
    assert reads.service_version(s, service_id=service_id) is None


def test_clone_service_copies_the_collection(s: Session, service: Service) -> None:
    original = add(s, service, "Ann", 1, image=b"photo")
    add(s, service, "Bob", 2)
    store.create_subject(s, service=service, name="Cid")
    clone = face_services.clone_service(s, service=service, name="copy")
    assert clone.api_key != service.api_key and clone.type == "recognition"
    assert sorted(store.list_subjects(s, service=clone)) == ["Ann", "Bob", "Cid"]
    page = store.list_examples(s, service=clone, subject="Ann", page=0, size=20)
    [copy] = page.items
    assert copy.image_id != original.id
    assert store.example_image(s, service=clone, example_id=copy.image_id) == b"photo"
    assert reads.models_of(s, example_id=copy.image_id) == reads.models_of(
        s, example_id=original.id
    )
    assert np.array_equal(
        reads.vector(s, example_id=copy.image_id, calculator=CALC),
        reads.vector(s, example_id=original.id, calculator=CALC),
    )
    # The clone is independent of its source.
    store.delete_all_subjects(s, service=service)
    assert store.list_examples(s, service=clone, subject=None, page=0, size=20).total_elements == 2


def test_clone_service_copies_the_rejections_to_the_copied_subjects(
    s: Session, service: Service
) -> None:
    add(s, service, "Ann", 1)
    add(s, service, "Bob", 2)
    rejections.add(s, service=service, subject="Ann", embedding=vector(3), calculator=CALC)
    clone = face_services.clone_service(s, service=service, name="copy")
    copied = rejections.load(s, service=clone, calculator=CALC)
    [subject_id] = copied.subject_ids
    owner = s.get(Subject, subject_id)
    assert owner is not None and (owner.service_id, owner.name) == (clone.id, "Ann")
    original = rejections.load(s, service=service, calculator=CALC)
    assert np.array_equal(copied.vectors, original.vectors)
    # The copy is the clone's own: undone in the source, it stays; gone with its subject.
    [source] = rejections.list_rejections(s, service=service)
    rejections.delete_rejection(s, service=service, rejection_id=source.id)
    assert [r.subject for r in rejections.list_rejections(s, service=clone)] == ["Ann"]
    store.delete_subject(s, service=clone, name="ann")
    assert rejections.list_rejections(s, service=clone) == []


def test_response_format_defaults_to_the_servers(s: Session, service: Service) -> None:
    assert service.response_format is None
    assert face_services.response_format_of(service, default="compreface-1.2") == "compreface-1.2"
    face_services.change_settings(s, service=service, response_format="seed")
    s.expire_all()  # read back from the database
    assert face_services.response_format_of(service, default="compreface-1.2") == "seed"
    assert face_services.clone_service(s, service=service, name="copy").response_format == "seed"
    with pytest.raises(ValueError, match="response format"):
        face_services.change_settings(s, service=service, response_format="v1")
    with pytest.raises(ValueError, match="response format"):
        face_services.create_service(
            s,
            app=service.application,
            name="x",
            type="detection",
            response_format="objects",  # type: ignore[arg-type]
        )


# --- request statistics ---------------------------------------------------------------------


def test_count_request_upserts_per_day(s: Session, service: Service) -> None:
    for _ in range(3):
        statistics.count_request(s, service=service)
    statistics.count_request(s, service=service, day=date(2020, 1, 1))
    counts = statistics.request_counts(s, service=service, since=date(2019, 1, 1))
    assert counts[0] == (date(2020, 1, 1), 1)
    assert len(counts) == 2 and counts[1][1] == 3
    assert statistics.request_counts(s, service=service, since=date(2020, 1, 2)) == counts[1:]


def test_count_request_from_two_sessions(db_engine: Engine) -> None:
    sessions = session_factory(db_engine)
    with sessions.begin() as s:
        service = face_services.create_service(
            s, app=face_services.default_application(s), name="d", type="detection"
        )
    for _ in range(2):
        with sessions.begin() as s:
            statistics.count_request(s, service=service, day=date(2024, 5, 1))
    with sessions() as s:
        assert statistics.request_counts(s, service=service, since=date(2024, 1, 1)) == [
            (date(2024, 5, 1), 2)
        ]


def test_settings_are_declared_once_and_cloned(s: Session, service: Service) -> None:
    """A per-service setting is one field of `ServiceSettings`, a `Service` column of the same
    name, and the admin API's field (docs/architecture.md, "One feature, few files")."""
    declared = [field.name for field in fields(face_services.ServiceSettings)]
    assert declared == list(ServiceSettingsFields.model_fields)
    assert set(declared) <= set(Service.__table__.columns.keys())
    chosen = face_services.change_settings(
        s,
        service=service,
        similarity_threshold=0.7,
        enrolment_quality=QualityLimits(min_sharpness=20.0),
        keep_unknown_faces=True,
        unique_subjects=True,
        mqtt_events=True,
        frigate_cameras="door, garden door",
    )
    s.expire_all()  # read back from the database
    assert face_services.settings_of(service) == chosen
    assert chosen.frigate_cameras == "door,garden"
    clone = face_services.settings_of(face_services.clone_service(s, service=service, name="c"))
    assert clone == replace(chosen, mqtt_events=False, frigate_cameras=None)
    with pytest.raises(TypeError):
        face_services.change_settings(s, service=service, no_such_setting=1)
