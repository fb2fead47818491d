"""facegate.collection.store on SQLite and PostgreSQL: CompreFace's collection semantics."""

from __future__ import annotations

import threading
from datetime import date

import numpy as np
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from facegate import face_services
from facegate.collection import reads, statistics, store
from facegate.config import Settings
from facegate.db.session import create_db_engine, session_factory
from facegate.db.tables import Service
from facegate.errors import (
    ExampleNotFound,
    InvalidName,
    InvalidParameter,
    SubjectAlreadyExists,
    SubjectNotFound,
)
from tests.support.embeddings import CALC, add, vector

# --- subjects -------------------------------------------------------------------------------


def test_subject_names_are_case_insensitive(s: Session, service: Service) -> None:
    store.create_subject(s, service=service, name="Ann")
    with pytest.raises(SubjectAlreadyExists) as error:
        store.create_subject(s, service=service, name="aNN")
    assert (error.value.status, error.value.code) == (400, 43)
    assert error.value.message == "Subject already exists"
    store.create_subject(s, service=service, name="Émile")
    with pytest.raises(SubjectAlreadyExists):
        store.create_subject(s, service=service, name="éMILE")  # not only ASCII, on SQLite too
    assert store.list_subjects(s, service=service) == ["Ann", "Émile"]


def test_subjects_belong_to_one_service(s: Session, service: Service) -> None:
    other = face_services.create_service(
        s, app=service.application, name="other", type="recognition"
    )
    store.create_subject(s, service=service, name="Ann")
    store.create_subject(s, service=other, name="Ann")
    assert store.list_subjects(s, service=other) == ["Ann"]
    store.delete_subject(s, service=other, name="ann")
    assert store.list_subjects(s, service=service) == ["Ann"]


def test_rename_to_the_same_or_empty_name_changes_nothing(s: Session, service: Service) -> None:
    store.create_subject(s, service=service, name="Ann")
    version = service.version
    assert store.rename_subject(s, service=service, old="Ann", new="Ann") is False
    assert store.rename_subject(s, service=service, old="Ann", new="") is False
    assert service.version == version
    assert store.list_subjects(s, service=service) == ["Ann"]


def test_rename_unknown_subject_is_42(s: Session, service: Service) -> None:
    with pytest.raises(SubjectNotFound) as error:
        store.rename_subject(s, service=service, old="Nobody", new="Ann")
    assert (error.value.status, error.value.code) == (404, 42)
    assert error.value.message == "Subject Nobody not found"


def test_rename_finds_case_insensitively_and_may_change_case(s: Session, service: Service) -> None:
    example = add(s, service, "Ann", 1)
    assert store.rename_subject(s, service=service, old="ANN", new="Anna") is True
    assert store.rename_subject(s, service=service, old="anna", new="ANNA") is True
    assert store.list_subjects(s, service=service) == ["ANNA"]
    refs = store.list_examples(s, service=service, subject="ANNA", page=0, size=20).items
    assert refs == [store.ListedExample(example.id, "ANNA", set_aside=False)]


def test_rename_onto_an_existing_subject_merges(s: Session, service: Service) -> None:
    a1, a2 = add(s, service, "Ann", 1), add(s, service, "Ann", 2)
    b1 = add(s, service, "Bob", 3)
    assert store.rename_subject(s, service=service, old="Ann", new="bob") is True
    assert store.list_subjects(s, service=service) == ["Bob"]
    page = store.list_examples(s, service=service, subject="Bob", page=0, size=20)
    assert {ref.image_id for ref in page.items} == {a1.id, a2.id, b1.id}


def test_delete_subject_returns_the_stored_name(s: Session, service: Service) -> None:
    add(s, service, "Ann", 1, image=b"x")
    add(s, service, "Ann", 2)
    keep = add(s, service, "Bob", 3)
    assert store.delete_subject(s, service=service, name="aNN") == "Ann"
    assert store.list_subjects(s, service=service) == ["Bob"]
    page = store.list_examples(s, service=service, subject=None, page=0, size=20)
    assert [ref.image_id for ref in page.items] == [keep.id]
    with pytest.raises(SubjectNotFound, match="Subject Ann not found"):
        store.delete_subject(s, service=service, name="Ann")


def test_delete_all_subjects_counts_subjects(s: Session, service: Service) -> None:
    add(s, service, "Ann", 1)
    add(s, service, "Ann", 2)
    store.create_subject(s, service=service, name="Bob")
    assert store.delete_all_subjects(s, service=service) == 2
    assert store.list_subjects(s, service=service) == []
    assert store.list_examples(s, service=service, subject=None, page=0, size=5).items == []
    assert store.delete_all_subjects(s, service=service) == 0


# --- examples -------------------------------------------------------------------------------


def test_add_example_creates_or_reuses_the_subject(s: Session, service: Service) -> None:
    first = add(s, service, "Ann", 1, image=b"bytes")
    second = add(s, service, "ANN", 2)
    assert store.list_subjects(s, service=service) == ["Ann"]
    assert first.subject_id == second.subject_id
    assert reads.models_of(s, example_id=first.id) == [CALC]
    kept = reads.vector(s, example_id=first.id, calculator=CALC)
    assert kept is not None and kept.dtype == np.float32 and kept.shape == (128,)
    np.testing.assert_allclose(np.linalg.norm(kept), 1.0, rtol=1e-6)
    np.testing.assert_allclose(kept, vector(1) / np.linalg.norm(vector(1)), rtol=1e-5)
    assert store.example_image(s, service=service, example_id=first.id) == b"bytes"
    assert store.example_image(s, service=service, example_id=second.id) == b""


@pytest.mark.parametrize(
    ("name", "error"),
    [("n" * 51, InvalidParameter), ("a/b", InvalidName), ("a\x00b", InvalidParameter)],
)
def test_subjects_are_never_stored_under_a_name_breaking_the_rule(
    s: Session, service: Service, name: str, error: type[Exception]
) -> None:
    """Whoever calls the store (decisions.md D11): not only the API, which checks first."""
    with pytest.raises(error):
        add(s, service, name, 1)
    with pytest.raises(error):
        store.create_subject(s, service=service, name=name)
    add(s, service, "Ann", 2)
    with pytest.raises(error):
        store.rename_subject(s, service=service, old="Ann", new=name)
    assert store.list_subjects(s, service=service) == ["Ann"]


@pytest.mark.parametrize("name", ["n" * 51, "a/b", "a\x00b", "\ud800", " "])
def test_a_name_breaking_the_rule_is_found_nowhere(s: Session, service: Service, name: str) -> None:
    """Not found, as any absent name, on both databases (NUL never reaches PostgreSQL)."""
    add(s, service, "Ann", 1)
    with pytest.raises(SubjectNotFound) as error:
        store.delete_subject(s, service=service, name=name)
    assert error.value.message == f"Subject {name} not found"
    with pytest.raises(SubjectNotFound):
        store.rename_subject(s, service=service, old=name, new="Bob")
    assert store.delete_examples_by_subject(s, service=service, subject=name) == 0
    page = store.list_examples(s, service=service, subject=name, page=0, size=10)
    assert (page.items, page.total_elements) == ([], 0)
    assert store.list_subjects(s, service=service) == ["Ann"]


def test_longest_names_fit_both_databases(s: Session, service: Service) -> None:
    """50 characters, folded to 100 for the index ("İ" lowers to two), under PostgreSQL's limit."""
    names = ["İ" * 50, "😀" * 50]
    for seed, name in enumerate(names):
        add(s, service, name, seed)
    assert store.list_subjects(s, service=service) == names
    assert store.delete_subject(s, service=service, name="İ" * 50) == "İ" * 50


def test_list_examples_pages_like_spring(s: Session, service: Service) -> None:
    ids = [add(s, service, "Ann" if i % 2 else "Bob", i).id for i in range(7)]
    page = store.list_examples(s, service=service, subject=None, page=0, size=3)
    assert (page.total_elements, page.total_pages, page.page_number, page.page_size) == (7, 3, 0, 3)
    pages = [
        store.list_examples(s, service=service, subject=None, page=n, size=3) for n in range(3)
    ]
    assert [ref.image_id for p in pages for ref in p.items] == ids  # oldest first, stable
    assert store.list_examples(s, service=service, subject=None, page=5, size=3).items == []
    # Spring's fallbacks: size < 1 is the default 20, size above 2000 is 2000, page < 0 is 0.
    assert store.list_examples(s, service=service, subject=None, page=0, size=0).page_size == 20
    assert (
        store.list_examples(s, service=service, subject=None, page=0, size=5000).page_size == 2000
    )
    assert store.list_examples(s, service=service, subject=None, page=-1, size=3).page_number == 0


def test_list_examples_subject_filter_is_exact(s: Session, service: Service) -> None:
    ann = add(s, service, "Ann", 1)
    aside = add(s, service, "Ann", 3)
    add(s, service, "Bob", 2)
    store.set_aside(s, service=service, ids=[aside.id], aside=True)
    page = store.list_examples(s, service=service, subject="Ann", page=0, size=20)
    # Set aside, still listed, marked (decisions.md D80).
    assert page.items == [
        store.ListedExample(ann.id, "Ann", set_aside=False),
        store.ListedExample(aside.id, "Ann", set_aside=True),
    ]
    assert page.total_pages == 1
    assert (
        store.list_examples(s, service=service, subject="ann", page=0, size=20).total_elements == 0
    )
    empty = store.list_examples(s, service=service, subject="Nobody", page=0, size=20)
    assert (empty.total_elements, empty.total_pages) == (0, 0)


def test_examples_of_another_service_are_not_found(s: Session, service: Service) -> None:
    other = face_services.create_service(
        s, app=service.application, name="other", type="recognition"
    )
    example = add(s, other, "Ann", 1, image=b"private")
    with pytest.raises(ExampleNotFound) as error:
        store.get_example(s, service=service, example_id=example.id)
    assert (error.value.status, error.value.code) == (404, 44)
    assert error.value.message == f"Image {example.id} not found"
    with pytest.raises(ExampleNotFound):
        store.delete_example(s, service=service, example_id=example.id)
    assert store.delete_examples(s, service=service, ids=[example.id]) == []
    assert store.example_image(s, service=service, example_id=example.id) == b""
    assert store.get_example(s, service=other, example_id=example.id).id == example.id


def test_delete_example_keeps_the_subject(s: Session, service: Service) -> None:
    example = add(s, service, "Ann", 1, image=b"x")
    assert store.delete_example(s, service=service, example_id=example.id) == store.ExampleRef(
        example.id, "Ann"
    )
    assert store.list_subjects(s, service=service) == ["Ann"]
    assert store.example_image(s, service=service, example_id=example.id) == b""
    with pytest.raises(ExampleNotFound):
        store.delete_example(s, service=service, example_id=example.id)


def test_bulk_delete_skips_unknown_ids(s: Session, service: Service) -> None:
    a, b = add(s, service, "Ann", 1), add(s, service, "Bob", 2)
    keep = add(s, service, "Bob", 3)
    deleted = store.delete_examples(s, service=service, ids=[a.id, "nope", b.id])
    assert sorted(deleted, key=lambda ref: ref.subject) == [
        store.ExampleRef(a.id, "Ann"),
        store.ExampleRef(b.id, "Bob"),
    ]
    assert store.delete_examples(s, service=service, ids=[]) == []
    page = store.list_examples(s, service=service, subject=None, page=0, size=20)
    assert [ref.image_id for ref in page.items] == [keep.id]


def test_delete_examples_by_subject_removes_the_subject(s: Session, service: Service) -> None:
    add(s, service, "Ann", 1)
    add(s, service, "Ann", 2)
    add(s, service, "Bob", 3)
    assert store.delete_examples_by_subject(s, service=service, subject="ann") == 2
    assert store.list_subjects(s, service=service) == ["Bob"]
    assert store.delete_examples_by_subject(s, service=service, subject="Nobody") == 0


def test_delete_examples_without_subject_empties_the_service(s: Session, service: Service) -> None:
    other = face_services.create_service(
        s, app=service.application, name="other", type="recognition"
    )
    add(s, service, "Ann", 1)
    add(s, service, "Bob", 2)
    add(s, other, "Ann", 3)
    assert store.delete_examples_by_subject(s, service=service, subject=None) == 2
    assert store.list_examples(s, service=service, subject=None, page=0, size=20).items == []
    assert store.list_subjects(s, service=service) == ["Ann", "Bob"]
    assert store.list_examples(s, service=other, subject=None, page=0, size=20).total_elements == 1


def test_every_collection_write_bumps_the_version(s: Session, service: Service) -> None:
    writes = [
        lambda: store.create_subject(s, service=service, name="Ann"),
        lambda: add(s, service, "Ann", 1),
        lambda: store.rename_subject(s, service=service, old="Ann", new="Bob"),
        lambda: store.delete_example(s, service=service, example_id=add(s, service, "Bob", 2).id),
        lambda: store.delete_examples_by_subject(s, service=service, subject="Bob"),
        lambda: store.delete_examples_by_subject(s, service=service, subject=None),
        lambda: store.delete_all_subjects(s, service=service),
    ]
    for write in writes:
        before = reads.service_version(s, service_id=service.id) or 0
        write()
        after = reads.service_version(s, service_id=service.id) or 0
        assert after > before and service.version == after


def test_stale_embeddings_and_another_models_beside(s: Session, service: Service) -> None:
    old = store.add_example(
        s, service=service, subject="Ann", embedding=vector(1), calculator="old", image=b"x"
    )
    store.add_example(
        s, service=service, subject="Ann", embedding=vector(2), calculator="old", image=None
    )
    add(s, service, "Bob", 3)
    assert reads.has_stale_embeddings(s, calculator=CALC)
    assert reads.stale_examples(s, calculator=CALC) == [old.id]  # only those with a photo
    store.add_embedding(s, example_id=old.id, embedding=vector(9) * 3, calculator=CALC)
    assert reads.models_of(s, example_id=old.id) == [CALC, "old"]  # the old one stays
    added = reads.vector(s, example_id=old.id, calculator=CALC)
    assert added is not None
    np.testing.assert_allclose(np.linalg.norm(added), 1.0, rtol=1e-6)
    assert reads.stale_examples(s, calculator=CALC) == []
    store.add_embedding(s, example_id="gone", embedding=vector(1), calculator=CALC)
    assert reads.coverage(s) == reads.Coverage(examples=3, by_model={CALC: 2, "old": 2})
    assert store.drop_embeddings(s, calculator="old") == 2
    assert reads.coverage(s) == reads.Coverage(examples=3, by_model={CALC: 2})
    assert reads.models_of(s, example_id=old.id) == [CALC]


def test_collection_rows_stream_in_chunks(s: Session, service: Service) -> None:
    ids = {add(s, service, f"S{i % 2}", i).id for i in range(5)}
    store.add_example(
        s, service=service, subject="Old", embedding=vector(9), calculator="old", image=None
    )
    chunks = list(reads.collection_rows(s, service_id=service.id, calculator=CALC, chunk=2))
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    assert {row[0] for chunk in chunks for row in chunk} == ids
    names = reads.subject_names(s, service_id=service.id)
    assert sorted(names.values()) == ["Old", "S0", "S1"]
    assert {names[row[2]] for chunk in chunks for row in chunk} == {"S0", "S1"}


def test_concurrent_writers_on_two_engines(settings: Settings, db_engine: Engine) -> None:
    # Two server processes (two engines) writing at once: a read, then a write, per transaction,
    # as a request does. SQLite must wait for its lock (busy timeout), never fail.
    with session_factory(db_engine).begin() as s:
        key = face_services.create_service(
            s, app=face_services.default_application(s), name="busy", type="recognition"
        ).api_key
    engines = [create_db_engine(settings) for _ in range(2)]
    errors: list[BaseException] = []

    def write(engine: Engine, worker: int) -> None:
        try:
            for i in range(15):
                with session_factory(engine).begin() as s:
                    service = face_services.service_by_key(s, api_key=key, type="recognition")
                    assert service is not None
                    store.add_example(
                        s,
                        service=service,
                        subject=f"W{worker // 2}",  # each name from both engines
                        embedding=vector(worker * 100 + i),
                        calculator=CALC,
                        image=None,
                    )
                    statistics.count_request(s, service=service)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(engines[n % 2], n)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert errors == []
    with session_factory(db_engine)() as s:
        service = face_services.service_by_key(s, api_key=key, type="recognition")
        assert service is not None
        assert (
            store.list_examples(s, service=service, subject=None, page=0, size=100).total_elements
            == 60
        )
        assert service.version == 60  # every write bumped it exactly once
        assert sorted(store.list_subjects(s, service=service)) == ["W0", "W1"]
        assert statistics.request_counts(s, service=service, since=date(2000, 1, 1))[0][1] == 60
