"""Migrations 0006 and 0018 on SQLite and PostgreSQL: stored subject names that break the rule
for names (decisions.md D11, D94) become names every endpoint reaches."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from facegate import names
from facegate.collection import store
from facegate.config import Settings
from facegate.db.session import MIGRATIONS, create_db_engine, session_factory, upgrade
from facegate.db.tables import Service

NOW = {"t": "2024-01-01"}


@pytest.fixture
def at_0005(settings: Settings) -> Iterator[Engine]:
    """A database at revision 0005, before the rule held on every path."""
    engine = create_db_engine(settings)
    upgrade(engine, "0005")
    yield engine
    engine.dispose()


def _service(engine: Engine, name: str, subjects: list[str], *, examples: bool = True) -> int:
    """A recognition service holding `subjects` (each with one example, as 0005 stored them,
    unless not `examples`)."""
    with session_factory(engine).begin() as s:
        app_id = s.execute(text("SELECT id FROM applications")).scalar()
        if app_id is None:
            s.execute(
                text("INSERT INTO applications (guid, name, created_at) VALUES ('g', 'a', :t)"),
                NOW,
            )
            app_id = s.execute(text("SELECT id FROM applications")).scalar_one()
        s.execute(
            text(
                "INSERT INTO services (guid, app_id, name, type, api_key, version, created_at) "
                "VALUES (:n, :app, :n, 'recognition', :n, 0, :t)"
            ),
            {"n": name, "app": app_id} | NOW,
        )
        service_id: int = s.execute(
            text("SELECT id FROM services WHERE name = :n"), {"n": name}
        ).scalar_one()
        for index, subject in enumerate(subjects):
            s.execute(
                text("INSERT INTO subjects (service_id, name, name_key) VALUES (:s, :n, :k)"),
                {"s": service_id, "n": subject, "k": subject.lower()},
            )
            if not examples:
                continue
            s.execute(
                text(
                    "INSERT INTO examples (id, subject_id, embedding, calculator, created_at) "
                    "SELECT :id, id, :e, 'c', :t FROM subjects WHERE service_id = :s AND name = :n"
                ),
                {"id": f"{name}-{index}", "e": b"\0" * 8, "s": service_id, "n": subject} | NOW,
            )
    return service_id


def _stored(engine: Engine, service_id: int) -> list[tuple[str, str, int]]:
    """(name, name_key, examples) of each subject of the service, in creation order."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT s.name, s.name_key, count(e.id) FROM subjects s "
                "LEFT JOIN examples e ON e.subject_id = s.id WHERE s.service_id = :s "
                "GROUP BY s.id, s.name, s.name_key ORDER BY s.id"
            ),
            {"s": service_id},
        )
        return [(name, key, count) for name, key, count in rows]


def _version(engine: Engine, service_id: int) -> int:
    with engine.connect() as connection:
        version: int = connection.execute(
            text("SELECT version FROM services WHERE id = :s"), {"s": service_id}
        ).scalar_one()
        return version


def test_names_breaking_the_rule_become_reachable_and_distinct(
    at_0005: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    nul = at_0005.dialect.name == "sqlite"  # PostgreSQL never stored NUL: it refuses it
    before = ["A_B", "a/b", "a;b", "x" * 60, "X" * 55, "\\", "Zoë O'Brien", " spaced "]
    before += ["Zo\0ë", "\0"] if nul else []
    first = _service(at_0005, "first", before)
    second = _service(at_0005, "second", ["a/b"])
    untouched = _service(at_0005, "untouched", ["fine", "José"])

    with caplog.at_level(logging.WARNING, logger="facegate.migrations"):
        upgrade(at_0005)

    after = ["A_B", "a_b (2)", "a_b (3)", "x" * 50, "X" * 46 + " (2)", "_", "Zoë O'Brien"]
    after += [" spaced "] + (["Zoë", "unnamed"] if nul else [])
    assert _stored(at_0005, first) == [(name, name.lower(), 1) for name in after]
    assert _stored(at_0005, second) == [("a_b", "a_b", 1)]  # distinct per service only
    assert _stored(at_0005, untouched) == [("fine", "fine", 1), ("José", "josé", 1)]
    assert all(names.is_subject(name) for name in after)
    # Running servers of the old version reload the services whose names changed.
    assert (_version(at_0005, first), _version(at_0005, second)) == (1, 1)
    assert _version(at_0005, untouched) == 0
    logged = [r.getMessage() for r in caplog.records]
    renamed = [line for line in logged if f"of service {first} renamed to" in line]
    assert len(renamed) == len(before) - 3  # "A_B", "Zoë O'Brien" and " spaced " stay
    assert renamed[0].startswith(f"Subject 'a/b' of service {first} renamed to 'a_b (2)'")


def test_migrated_names_are_found_renamed_and_deleted_by_name(at_0005: Engine) -> None:
    first = _service(at_0005, "first", ["a/b", "y" * 70])
    upgrade(at_0005)
    with session_factory(at_0005).begin() as s:
        service = s.get_one(Service, first)
        assert store.rename_subject(s, service=service, old="A_B", new="Ann") is True
        assert store.delete_subject(s, service=service, name="Y" * 50) == "y" * 50
        page = store.list_examples(s, service=service, subject="Ann", page=0, size=10)
        assert page.total_elements == 1
        assert store.list_subjects(s, service=service) == ["Ann"]


def _revision(file: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(file, MIGRATIONS / "versions" / file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REVISION_0006 = _revision("0006_reachable_names.py")
REVISION_0018 = _revision("0018_dot_segment_subjects.py")


# Stored names: any character but unpaired surrogates (no driver stores them), with separators,
# NUL, spaces and letters of both cases made common, so names clash and break the rule often.
@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(
            st.characters(exclude_categories=["Cs"]) | st.sampled_from(";/\\\0 aA"), max_size=70
        ),
        max_size=8,
    )
)
def test_the_migrations_give_every_name_one_the_rule_accepts(stored: list[str]) -> None:
    """Their frozen copies of the rule, 0006's and then 0018's, agree with `facegate.names`,
    and the new names are distinct case-insensitively from each other and from every name of
    the service."""
    taken = {name.lower() for name in stored}
    for name in stored:
        kept = REVISION_0006.follows_rule(name) and name not in REVISION_0018.DOT_SEGMENTS
        assert kept == names.is_subject(name)
        if not REVISION_0006.follows_rule(name):
            name = REVISION_0006.unique(REVISION_0006.reachable(name), taken)
            taken.add(name.lower())
        if name in REVISION_0018.DOT_SEGMENTS:
            name = REVISION_0018.renamed(name, taken)
            assert name.lower() not in taken
            taken.add(name.lower())
        assert names.is_subject(name)


@pytest.mark.parametrize("stored", [["."], [".."], ["\x00."], [".\x1f."], ["_", "."]])
def test_names_that_become_dot_segments_are_renamed_too(stored: list[str]) -> None:
    """Names hypothesis may or may not draw: the dots alone, and names 0006 turned into them."""
    test_the_migrations_give_every_name_one_the_rule_accepts.hypothesis.inner_test(stored)  # type: ignore[attr-defined]


def test_dot_segment_subjects_are_renamed_and_reachable(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_db_engine(settings)
    try:
        upgrade(engine, "0017")
        with session_factory(engine).begin() as s:
            s.execute(
                text("INSERT INTO applications (guid, name, created_at) VALUES ('g', 'a', :t)"),
                NOW,
            )
        first = _service(engine, "first", [".", "..", "_", "fine"], examples=False)
        untouched = _service(engine, "untouched", ["a.b", "..."], examples=False)
        with caplog.at_level(logging.WARNING, logger="facegate.migrations"):
            upgrade(engine)
        after = ["_ (2)", "__", "_", "fine"]
        assert _stored(engine, first) == [(name, name.lower(), 0) for name in after]
        assert _stored(engine, untouched) == [("a.b", "a.b", 0), ("...", "...", 0)]
        # Each rename is a recorded change under a version of its own: running servers follow.
        assert (_version(engine, first), _version(engine, untouched)) == (2, 0)
        with engine.connect() as connection:
            recorded = connection.execute(
                text("SELECT version, kind FROM collection_changes WHERE service_id = :s"),
                {"s": first},
            ).all()
        assert sorted(recorded) == [(1, "renamed"), (2, "renamed")]
        assert sum("renamed to" in r.getMessage() for r in caplog.records) == 2
        with session_factory(engine).begin() as s:
            service = s.get_one(Service, first)
            assert store.rename_subject(s, service=service, old="__", new="Dots") is True
            assert store.delete_subject(s, service=service, name="_ (2)") == "_ (2)"
            assert store.list_subjects(s, service=service) == ["Dots", "_", "fine"]
    finally:
        engine.dispose()
