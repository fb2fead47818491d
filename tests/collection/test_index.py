"""facegate.collection.index: top-k search, in-place updates, and consistency across processes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from facegate import face_services
from facegate.collection import reads, store
from facegate.collection.index import MARGIN, IndexRegistry, rounded, rounded_scores
from facegate.config import Settings
from facegate.db.session import create_db_engine, session_factory
from facegate.db.tables import Service
from facegate.engine.model_sets import DLIB_SCALE
from facegate.engine.similarity import normalize
from facegate.errors import WrongEmbeddingSize
from tests.support.embeddings import CALC, vector


def near(seed: int, noise: float = 0.05) -> np.ndarray:
    """A vector close to vector(seed): what another photo of the same face looks like."""
    return vector(seed) + noise * vector(seed + 10_000) * np.linalg.norm(vector(seed)) / 11


@pytest.fixture
def sessions(db_engine: Engine) -> sessionmaker[Session]:
    return session_factory(db_engine)


@pytest.fixture
def registry(sessions: sessionmaker[Session]) -> IndexRegistry:
    return IndexRegistry(sessions, calculator=CALC, scale=DLIB_SCALE)


@pytest.fixture
def service(sessions: sessionmaker[Session]) -> Service:
    with sessions.begin() as s:
        app = face_services.default_application(s)
        return face_services.create_service(s, app=app, name="faces", type="recognition")


def add(
    sessions: sessionmaker[Session], service: Service, subject: str, seed: int, calc: str = CALC
) -> str:
    with sessions.begin() as s:
        example = store.add_example(
            s, service=service, subject=subject, embedding=vector(seed), calculator=calc, image=None
        )
        return example.id


def top(registry: IndexRegistry, service: Service, query: np.ndarray, k: int = 1) -> list[Any]:
    [matches] = registry.search(service, query, k=k)
    return [(match.subject, match.example_id) for match in matches]


def test_empty_service_has_no_matches(registry: IndexRegistry, service: Service) -> None:
    assert registry.search(service, np.stack([vector(1), vector(2)]), k=3) == [[], []]


def test_best_match_first_with_compreface_similarity(
    registry: IndexRegistry, sessions: sessionmaker[Session], service: Service
) -> None:
    ids = {name: add(sessions, service, name, seed) for seed, name in enumerate("ABCDE")}
    [matches] = registry.search(service, near(2), k=3)
    assert matches[0].subject == "C" and matches[0].example_id == ids["C"]
    assert [m.similarity for m in matches] == sorted((m.similarity for m in matches), reverse=True)
    for match in matches:
        seed = "ABCDE".index(match.subject)
        assert match.similarity == pytest.approx(
            DLIB_SCALE.similarity(near(2), vector(seed)), abs=1e-5
        )
    assert len(registry.search(service, near(2), k=-1)[0]) == 5  # -1: every example
    assert len(registry.search(service, near(2), k=50)[0]) == 5
    assert registry.search(service, near(2), k=0) == [[]]


def test_several_queries_and_duplicate_subjects(
    registry: IndexRegistry, sessions: sessionmaker[Session], service: Service
) -> None:
    add(sessions, service, "Ann", 1)
    add(sessions, service, "Ann", 2)
    add(sessions, service, "Bob", 3)
    first, second = registry.search(service, np.stack([near(3), near(1)]), k=2)
    assert first[0].subject == "Bob"
    # No per-subject de-duplication: both of Ann's examples can be listed (CompreFace).
    assert [m.subject for m in registry.search(service, vector(1) + vector(2), k=2)[0]] == [
        "Ann",
        "Ann",
    ]
    assert second[0].subject == "Ann"


def test_only_the_current_calculator_counts(
    registry: IndexRegistry, sessions: sessionmaker[Session], service: Service
) -> None:
    add(sessions, service, "Old", 1, calc="facenet.Calculator")
    assert registry.search(service, vector(1), k=5) == [[]]
    add(sessions, service, "Old", 2, calc="facenet.Calculator")  # applied in place: ignored
    add(sessions, service, "New", 3)
    assert top(registry, service, vector(1), k=5) == [
        ("New", top(registry, service, vector(3))[0][1])
    ]


def test_wrong_query_size_is_refused(
    registry: IndexRegistry, sessions: sessionmaker[Session], service: Service
) -> None:
    add(sessions, service, "Ann", 1)
    with pytest.raises(WrongEmbeddingSize) as error:
        registry.search(service, np.ones(5, dtype=np.float32))
    assert error.value.status == 400 and "5 values" in error.value.message


def loads() -> float:
    """How many times an index in this process has read a service whole."""
    value = REGISTRY.get_sample_value("facegate_index_updates_total", {"kind": "load"})
    return value or 0.0


def test_writes_of_this_process_apply_without_reloading(
    registry: IndexRegistry, sessions: sessionmaker[Session], service: Service
) -> None:
    add(sessions, service, "Ann", 1)
    assert top(registry, service, vector(1))[0][0] == "Ann"  # loads the collection
    before = loads()
    bob = add(sessions, service, "Bob", 2)
    with sessions.begin() as s:
        store.rename_subject(s, service=service, old="Ann", new="Anna")
    assert top(registry, service, vector(2)) == [("Bob", bob)]
    assert top(registry, service, vector(1))[0][0] == "Anna"
    assert loads() == before  # the matrix followed both writes from their record


def test_embeddings_of_a_migration_apply_without_reloading(
    registry: IndexRegistry, sessions: sessionmaker[Session], service: Service
) -> None:
    old = add(sessions, service, "Ann", 1, calc="facenet.Calculator")
    bob = add(sessions, service, "Bob", 2)
    assert top(registry, service, vector(1), k=5) == [("Bob", bob)]  # loads the collection
    before = loads()
    with sessions.begin() as s:  # what /migrate does: the example gains this model's embedding
        store.add_embedding(s, example_id=old, embedding=vector(3), calculator=CALC)
    assert top(registry, service, vector(3)) == [("Ann", old)]
    with sessions.begin() as s:  # embedded by the same calculator again: its vector is replaced
        store.add_embedding(s, example_id=old, embedding=vector(4), calculator=CALC)
    assert top(registry, service, vector(4)) == [("Ann", old)]
    assert sorted(top(registry, service, vector(3), k=-1)) == sorted([("Ann", old), ("Bob", bob)])
    assert loads() == before


def test_rolled_back_writes_do_not_reach_the_index(
    registry: IndexRegistry, sessions: sessionmaker[Session], service: Service
) -> None:
    add(sessions, service, "Ann", 1)
    registry.search(service, vector(1))
    with sessions() as s:
        store.add_example(
            s, service=service, subject="Ghost", embedding=vector(2), calculator=CALC, image=None
        )
        s.rollback()
    assert top(registry, service, vector(2))[0][0] == "Ann"


def test_many_appends_grow_the_matrix(
    registry: IndexRegistry, sessions: sessionmaker[Session], service: Service
) -> None:
    registry.search(service, vector(0))
    ids = [add(sessions, service, f"S{i}", i) for i in range(40)]
    for i in (0, 17, 39):
        assert top(registry, service, vector(i)) == [(f"S{i}", ids[i])]
    with sessions.begin() as s:
        store.delete_examples(s, service=service, ids=ids[:20])
    assert top(registry, service, vector(3))[0][0] != "S3"
    assert len(registry.search(service, vector(3), k=-1)[0]) == 20
    extra = add(sessions, service, "Late", 999)
    assert top(registry, service, vector(999)) == [("Late", extra)]


def test_concurrent_searches_and_writes(
    registry: IndexRegistry, sessions: sessionmaker[Session], service: Service
) -> None:
    add(sessions, service, "Seed", 0)
    errors: list[BaseException] = []

    def search() -> None:
        try:
            for _ in range(30):
                [matches] = registry.search(service, vector(0), k=-1)
                assert matches[0].subject == "Seed"
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=search) for _ in range(3)]
    for thread in threads:
        thread.start()
    for i in range(1, 16):
        add(sessions, service, f"W{i}", i)
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(registry.search(service, vector(0), k=-1)[0]) == 16


# --- another process: a second registry on its own engine, same database -------------------


class Other(NamedTuple):
    """The second process: its sessions, its registry, and `service` as it loaded it."""

    sessions: sessionmaker[Session]
    index: IndexRegistry
    service: Service


@pytest.fixture
def other(settings: Settings, db_engine: Engine, service: Service) -> Iterator[Other]:
    engine = create_db_engine(settings)  # db_engine has migrated the database already
    sessions = session_factory(engine)
    index = IndexRegistry(sessions, calculator=CALC, scale=DLIB_SCALE)
    with sessions() as s:
        remote = face_services.service_by_key(s, api_key=service.api_key, type="recognition")
    assert remote is not None
    yield Other(sessions, index, remote)
    engine.dispose()


def test_another_process_sees_every_kind_of_write(
    registry: IndexRegistry,
    sessions: sessionmaker[Session],
    service: Service,
    other: Other,
) -> None:
    other_sessions, other_index, remote = other
    assert other_index.search(remote, vector(1)) == [[]]  # cached: empty

    ann = add(sessions, service, "Ann", 1)
    assert top(other_index, remote, vector(1)) == [("Ann", ann)]
    bob = add(sessions, service, "Bob", 2)
    assert top(other_index, remote, vector(2)) == [("Bob", bob)]

    with sessions.begin() as s:  # rename
        store.rename_subject(s, service=service, old="ann", new="Anna")
    assert top(other_index, remote, vector(1)) == [("Anna", ann)]

    with sessions.begin() as s:  # merge Anna into Bob
        store.rename_subject(s, service=service, old="Anna", new="bob")
    assert top(other_index, remote, vector(1)) == [("Bob", ann)]

    with sessions.begin() as s:  # delete one example
        store.delete_example(s, service=service, example_id=ann)
    assert top(other_index, remote, vector(1), k=5) == [("Bob", bob)]

    # And the other way round: a write through the second process reaches the first.
    cid = add(other_sessions, remote, "Cid", 3)
    assert top(registry, service, vector(3)) == [("Cid", cid)]

    with sessions.begin() as s:  # delete a subject
        store.delete_subject(s, service=service, name="BOB")
    assert top(other_index, remote, vector(2), k=5) == [("Cid", cid)]

    with sessions.begin() as s:  # delete everything
        store.delete_all_subjects(s, service=service)
    assert other_index.search(remote, vector(3)) == [[]]
    assert registry.search(service, vector(3)) == [[]]


def test_interleaved_writes_from_two_processes(
    registry: IndexRegistry,
    sessions: sessionmaker[Session],
    service: Service,
    other: Other,
) -> None:
    other_sessions, other_index, remote = other
    registry.search(service, vector(0))
    other_index.search(remote, vector(0))
    for i in range(6):  # each side's in-place update must notice the other side's write
        add(sessions if i % 2 else other_sessions, service if i % 2 else remote, f"P{i}", i)
    for index, svc in ((registry, service), (other_index, remote)):
        [matches] = index.search(svc, vector(0), k=-1)
        assert sorted(m.subject for m in matches) == [f"P{i}" for i in range(6)]


def test_a_recreated_service_id_is_not_confused(
    registry: IndexRegistry, sessions: sessionmaker[Session], service: Service
) -> None:
    add(sessions, service, "Ann", 1)
    assert top(registry, service, vector(1))[0][0] == "Ann"
    with sessions.begin() as s:
        face_services.delete_service(s, service=s.merge(service))
        fresh = face_services.create_service(
            s, app=face_services.default_application(s), name="faces", type="recognition"
        )
    assert registry.search(fresh, vector(1)) == [[]]


def test_search_normalises_the_query(
    registry: IndexRegistry, sessions: sessionmaker[Session], service: Service
) -> None:
    add(sessions, service, "Ann", 1)
    [[scaled]] = registry.search(service, 7.5 * vector(1))
    assert scaled.similarity == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(normalize(7.5 * vector(1)), normalize(vector(1)), rtol=1e-6)


def test_deleted_services_are_forgotten(
    registry: IndexRegistry,
    sessions: sessionmaker[Session],
    service: Service,
    other: Other,
) -> None:
    other_index = other.index
    add(sessions, service, "Ann", 1)
    assert top(registry, service, vector(1))[0][0] == "Ann"
    assert top(other_index, service, vector(1))[0][0] == "Ann"
    with sessions.begin() as s:
        face_services.delete_service(s, service=s.merge(service))
    assert registry.search(service, vector(1)) == [[]]
    assert service.id not in registry._collections  # dropped at its next search
    assert other_index.search(service, vector(1)) == [[]]
    assert service.id not in other_index._collections


def test_rows_alike_to_16_bits_are_ranked_and_scored_exactly(
    registry: IndexRegistry, sessions: sessionmaker[Session], service: Service
) -> None:
    """The matrix keeps bfloat16 rows (decisions.md D30): two examples that round to the same
    row still come back in their exact order, each with its exact float32 similarity."""
    base = normalize(vector(1))
    nudge = normalize(vector(2)) * 1e-3  # about bfloat16's resolution of base's values
    far, near_ = base - nudge, base + nudge
    ids = {}
    for name, embedding in (("Far", far), ("Near", near_)):
        with sessions.begin() as s:
            ids[name] = store.add_example(
                s, service=service, subject=name, embedding=embedding, calculator=CALC, image=None
            ).id
    query = normalize(base + 5 * nudge + 0.3 * normalize(vector(3)))
    scores = rounded_scores(rounded(np.stack([normalize(far), normalize(near_)])), query[None])
    assert abs(scores[0, 0] - scores[1, 0]) < MARGIN  # the 16-bit scores cannot tell them apart
    [matches] = registry.search(service, query, k=2)
    assert [m.subject for m in matches] == ["Near", "Far"]
    with sessions() as s:
        for match in matches:
            exact = reads.vector(s, example_id=match.example_id, calculator=CALC)
            assert exact is not None
            assert match.similarity == float(DLIB_SCALE.similarities(query, exact[None])[0])
    with sessions() as s:
        subject = store.get_subject(s, service=service, name="Near").id
    assert registry.best_of_subject(service, query, subject_id=subject) == [matches[0]]


def test_set_aside_examples_leave_every_process_index_until_restored(
    sessions: sessionmaker[Session], registry: IndexRegistry, service: Service
) -> None:
    """A set-aside is a recorded write (decisions.md D65): a process holding the service follows
    it, one loading the service afresh leaves the example out, and a restore brings it back to
    both; a write between them is followed too."""
    kept, aside = add(sessions, service, "a", 1), add(sessions, service, "b", 2)
    assert top(registry, service, vector(2)) == [("b", aside)]
    with sessions.begin() as s:
        [changed] = store.set_aside(s, service=service, ids=[aside, "not-an-id"], aside=True)
        assert changed.image_id == aside
    fresh = IndexRegistry(sessions, calculator=CALC, scale=DLIB_SCALE)
    for index in (registry, fresh):
        assert top(index, service, vector(2), k=-1) == [("a", kept)]
    late = add(sessions, service, "c", 3)
    with sessions.begin() as s:
        store.set_aside(s, service=service, ids=[aside], aside=False)
        assert store.set_aside(s, service=service, ids=[aside], aside=False) == []
    for index in (registry, fresh, IndexRegistry(sessions, calculator=CALC, scale=DLIB_SCALE)):
        found = {example for _, example in top(index, service, vector(2), k=-1)}
        assert found == {kept, aside, late}
        assert top(index, service, vector(2)) == [("b", aside)]
