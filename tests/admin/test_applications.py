"""Applications and services as the admin sees them, on SQLite and PostgreSQL: clones copy the
collection, keys change, counts and statistics, members and ownership hand-over."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from facegate import face_services
from facegate.admin import accounts, applications
from facegate.admin.roles import Role
from facegate.collection import statistics, store
from facegate.db.session import session_factory
from facegate.db.tables import Embedding, Example, ExampleImage, User
from facegate.errors import AlreadyMember, InsufficientPrivileges, NameNotUnique, UserNotFound


def user(s: Session, email: str, role: Role = Role.USER) -> User:
    created = User(email=email, first_name="F", last_name="L", password_hash="x", global_role=role)
    s.add(created)
    s.flush()
    return created


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    with session_factory(db_engine)() as s, s.begin():
        yield s


def test_clone_copies_the_whole_collection(session: Session) -> None:
    admin = user(session, "admin@example.com", Role.ADMINISTRATOR)
    standing = applications.create_owned_app(session, user=admin, name="X")
    service = applications.create_service(
        session, standing=standing, name="faces", type="recognition"
    )
    rng = np.random.default_rng(0)
    for subject in ("ann", "bob", "bob"):
        store.add_example(
            session,
            service=service,
            subject=subject,
            embedding=rng.normal(size=128).astype(np.float32),
            calculator="c",
            image=b"jpeg bytes of " + subject.encode(),
        )
    clone = applications.clone_service(session, standing=standing, service=service, name="copy")
    assert (clone.api_key, clone.guid) != (service.api_key, service.guid)
    counts = applications.counts(session, app=standing.app)
    assert counts[clone.id] == counts[service.id] == (2, 3)
    assert store.list_subjects(session, service=clone) == store.list_subjects(
        session, service=service
    )
    images = session.scalar(select(func.count()).select_from(ExampleImage))
    assert images == 6

    def embeddings(service_id: int) -> set[bytes]:
        query = (
            select(Embedding.vector)
            .join(Example, Example.id == Embedding.example_id)
            .where(Example.subject.has(service_id=service_id))
        )
        return set(session.scalars(query))

    originals, copies = embeddings(service.id), embeddings(clone.id)
    assert originals == copies
    with pytest.raises(NameNotUnique):
        applications.clone_service(session, standing=standing, service=service, name="COPY")


def test_regenerated_key_replaces_the_old_one(session: Session) -> None:
    admin = user(session, "admin@example.com", Role.OWNER)
    standing = applications.create_owned_app(session, user=admin, name="X")
    service = applications.create_service(session, standing=standing, name="d", type="detection")
    old = service.api_key
    applications.regenerate_key(session, standing=standing, service=service)
    assert face_services.service_by_key(session, api_key=old, type="detection") is None
    assert (
        face_services.service_by_key(session, api_key=service.api_key, type="detection") is service
    )


def test_statistics_newest_first_within_six_months(session: Session) -> None:
    admin = user(session, "admin@example.com", Role.OWNER)
    standing = applications.create_owned_app(session, user=admin, name="X")
    service = applications.create_service(session, standing=standing, name="v", type="verification")
    today = datetime.now(UTC).date()
    for days_ago, times in [(0, 3), (1, 1), (400, 5)]:
        for _ in range(times):
            statistics.count_request(session, service=service, day=today - timedelta(days=days_ago))
    assert applications.statistics(session, service=service) == [
        (today, 3),
        (today - timedelta(days=1), 1),
    ]


def test_members_and_ownership_hand_over(session: Session) -> None:
    admin = user(session, "admin@example.com", Role.ADMINISTRATOR)
    ann = user(session, "ann@example.com")
    bob = user(session, "bob@example.com")
    standing = applications.create_owned_app(session, user=admin, name="X")
    applications.invite(session, standing=standing, email="ANN@example.com", role=Role.USER)
    with pytest.raises(AlreadyMember):
        applications.invite(session, standing=standing, email="ann@example.com", role=Role.USER)
    with pytest.raises(UserNotFound):
        applications.invite(session, standing=standing, email="zed@example.com", role=Role.USER)
    applications.invite(session, standing=standing, email=bob.email, role=Role.OWNER)
    members = {u.email: r for u, r in applications.members(session, app=standing.app)}
    assert members == {
        "admin@example.com": Role.ADMINISTRATOR,  # the previous owner
        "ann@example.com": Role.USER,
        "bob@example.com": Role.OWNER,
    }
    assert applications.owner(session, app=standing.app) is bob
    assert [u.email for u, _ in applications.members(session, app=standing.app, search="AN")] == [
        "ann@example.com"
    ]
    ann_standing = applications.access(session, user=ann, app_guid=standing.app.guid)
    with pytest.raises(InsufficientPrivileges):
        applications.remove_member(session, standing=ann_standing, user_guid=bob.guid)
    applications.remove_member(session, standing=ann_standing, user_guid=ann.guid)
    with pytest.raises(InsufficientPrivileges):
        applications.access(session, user=ann, app_guid=standing.app.guid)


def test_deleting_a_user_with_replacer_deleter(session: Session) -> None:
    owner = user(session, "owner@example.com", Role.OWNER)
    admin = user(session, "admin@example.com", Role.ADMINISTRATOR)
    leaver = user(session, "leaver@example.com", Role.ADMINISTRATOR)
    standing = applications.create_owned_app(session, user=leaver, name="X")
    accounts.delete_user(session, actor=admin, target=leaver, replacer="deleter")
    assert applications.owner(session, app=standing.app) is admin
    standing2 = applications.create_owned_app(session, user=admin, name="Y")
    accounts.delete_user(session, actor=owner, target=admin, replacer="owner")
    assert applications.owner(session, app=standing2.app) is owner
    assert applications.owner(session, app=standing.app) is owner
