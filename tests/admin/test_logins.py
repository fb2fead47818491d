"""Login sessions and throttling on SQLite and PostgreSQL: hashed tokens, revocation, sliding
expiry, and the exponential wait after repeated failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from facegate.admin import logins
from facegate.db.session import session_factory
from facegate.db.tables import LoginFailure, LoginSession, User, utcnow

TTL = timedelta(hours=1)


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    with session_factory(db_engine)() as s, s.begin():
        yield s


def make_user(s: Session) -> User:
    user = User(
        email="a@example.com", first_name="A", last_name="B", password_hash="x", global_role="USER"
    )
    s.add(user)
    s.flush()
    return user


def test_only_the_hash_of_the_token_is_stored(session: Session) -> None:
    issued = logins.start(session, user=make_user(session), ttl=TTL)
    stored = session.scalar(select(LoginSession))
    assert stored is not None
    assert stored.token_hash == logins.token_hash(issued.token) != issued.token
    assert logins.active(session, token=issued.token) is stored
    assert logins.active(session, token=stored.token_hash) is None


def test_start_revokes_the_presented_session(session: Session) -> None:
    user = make_user(session)
    first = logins.start(session, user=user, ttl=TTL)
    second = logins.start(session, user=user, ttl=TTL, replacing=first.token)
    assert logins.active(session, token=first.token) is None
    assert logins.active(session, token=second.token) is not None
    assert first.csrf_token != second.csrf_token


def test_revoke_all_keeps_one(session: Session) -> None:
    user = make_user(session)
    tokens = [logins.start(session, user=user, ttl=TTL).token for _ in range(3)]
    keep = logins.active(session, token=tokens[0])
    logins.revoke_all(session, user=user, keep=keep)
    assert [logins.active(session, token=t) is not None for t in tokens] == [True, False, False]


def test_extend_writes_only_when_a_tenth_has_passed() -> None:
    row = LoginSession(expires_at=utcnow() + TTL)
    assert logins.extend(row, ttl=TTL) is False
    row.expires_at = utcnow() + TTL / 2
    assert logins.extend(row, ttl=TTL) is True
    assert row.expires_at > utcnow() + TTL * 0.99


AT = datetime(2026, 1, 1, tzinfo=UTC)


def failures(count: int, *, ago: timedelta, key: str = "account:a@example.com") -> LoginFailure:
    return LoginFailure(key=key, count=count, last_failure_at=AT - ago)


@pytest.mark.parametrize(
    ("count", "ago", "limit", "expected"),
    [
        (4, timedelta(0), 5, 0),  # under the limit: no wait
        (5, timedelta(0), 5, 1),  # 2^0
        (8, timedelta(0), 5, 8),  # 2^3
        (8, timedelta(seconds=5), 5, 3),  # part of the wait has passed
        (8, timedelta(seconds=9), 5, 0),
        (40, timedelta(0), 5, 900),  # capped at 15 minutes
    ],
)
def test_exponential_wait(count: int, ago: timedelta, limit: int, expected: int) -> None:
    assert logins._wait(failures(count, ago=ago), limit, AT) == expected


def test_an_address_forgets_after_an_hour() -> None:
    row = failures(100, key="address:10.0.0.1", ago=timedelta(hours=2))
    assert logins._wait(row, logins.ADDRESS_LIMIT, AT) == 0


def test_failures_count_per_account_and_address(session: Session) -> None:
    for _ in range(logins.ACCOUNT_LIMIT):
        assert logins.wait_seconds(session, email="A@example.com", address="10.0.0.1") == 0
        logins.record_failure(session, email="A@example.com", address="10.0.0.1")
    assert logins.wait_seconds(session, email="a@example.com", address="10.0.0.2") >= 1
    assert logins.wait_seconds(session, email="b@example.com", address="10.0.0.1") == 0
    logins.record_success(session, email="a@example.com")
    assert logins.wait_seconds(session, email="a@example.com", address="10.0.0.2") == 0
    address = session.get(LoginFailure, "address:10.0.0.1")
    assert address is not None and address.count == logins.ACCOUNT_LIMIT


def test_dead_sessions_and_idle_counters_are_purged(session: Session) -> None:
    user = make_user(session)
    old = logins.start(session, user=user, ttl=TTL)
    logins.revoke(session, token=old.token)
    logins.start(session, user=user, ttl=TTL)
    assert len(session.scalars(select(LoginSession)).all()) == 1
    idle = datetime.now(UTC) - timedelta(days=2)
    session.add(LoginFailure(key="account:gone@example.com", count=3, last_failure_at=idle))
    session.flush()
    logins.record_failure(session, email="a@example.com", address=None)
    assert set(session.scalars(select(LoginFailure.key))) == {"account:a@example.com"}


def test_attempts_are_counted_before_the_check_and_a_success_is_given_back(
    session: Session,
) -> None:
    for _ in range(logins.ACCOUNT_LIMIT):
        assert logins.attempt(session, email="A@example.com", address="10.0.0.1") == 0
    assert logins.attempt(session, email="a@example.com", address="10.0.0.2") >= 1
    counts = dict(session.execute(select(LoginFailure.key, LoginFailure.count)).all())
    assert counts == {
        "account:a@example.com": logins.ACCOUNT_LIMIT,
        "address:10.0.0.1": logins.ACCOUNT_LIMIT,
        "address:10.0.0.2": 1,  # the address is counted first, then the account refuses
    }
    logins.refund(session, address="10.0.0.1")
    assert session.scalar(
        select(LoginFailure.count).where(LoginFailure.key == "address:10.0.0.1")
    ) == (logins.ACCOUNT_LIMIT - 1)


def test_a_throttled_address_counts_nothing_against_the_account(session: Session) -> None:
    session.add(LoginFailure(key="address:10.0.0.9", count=50, last_failure_at=utcnow()))
    session.flush()
    assert logins.attempt(session, email="a@example.com", address="10.0.0.9") >= 1
    assert session.get(LoginFailure, "account:a@example.com") is None


def test_reset_mails_are_counted_and_then_wait(session: Session) -> None:
    for _ in range(logins.RESET_MAIL_LIMIT):
        assert logins.reset_mail_attempt(session, email="a@example.com") == 0
    assert logins.reset_mail_attempt(session, email="A@example.com") >= 1
