"""Check-then-write on accounts under concurrent requests, over real HTTP on SQLite and
PostgreSQL: closed sign-up, the login throttle, role changes, and the throttle's counters shared
by several `facegate serve --workers 2` processes."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from facegate.admin import accounts, logins
from facegate.db.session import session_factory
from facegate.db.tables import AppMember, LoginFailure, User
from tests.support.clients import PASSWORD, Browser, ok
from tests.support.servers import serve, serving

CONCURRENT = 10


@pytest.fixture
def browsers(make_settings: Callable[..., Any]) -> Iterator[Callable[..., list[Browser]]]:
    """Start a server with extra settings; returns `count` browsers on it, each with its CSRF
    cookie already."""
    contexts: list[Any] = []
    opened: list[Browser] = []

    def start(count: int, **overrides: Any) -> list[Browser]:
        context = serve(make_settings(**overrides))
        url = context.__enter__()
        contexts.append(context)
        opened.extend(Browser(url) for _ in range(count))
        return opened[-count:]

    yield start
    for b in opened:
        b.close()
    for context in contexts:
        context.__exit__(None, None, None)


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Every call started at the same moment, from threads of its own."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, int | None]]:
    """(status, code) of each answer, counted; code None for a success."""
    return Counter(
        (r.status_code, r.json()["code"] if r.status_code >= 400 else None) for r in responses
    )


def test_closed_signup_raced_by_ten_admits_one_owner(
    browsers: Callable[..., list[Browser]], db_engine: Engine
) -> None:
    racers = browsers(CONCURRENT, allow_signup=False)
    answers = at_once([partial(b.sign_up, f"racer{n}@example.com") for n, b in enumerate(racers)])
    assert outcomes(answers) == {(201, None): 1, (403, 9): CONCURRENT - 1}
    (winner,) = [r.json()["user"] for r in answers if r.status_code == 201]
    assert winner["globalRole"] == "OWNER"
    with db_engine.connect() as connection:
        assert connection.execute(select(User.email, User.global_role)).all() == [
            (winner["email"], "OWNER")
        ]


def test_ten_wrong_passwords_at_once_are_throttled_after_five(
    browsers: Callable[..., list[Browser]], db_engine: Engine
) -> None:
    first, *guessers = browsers(CONCURRENT + 1)
    ok(first.sign_up("ann@example.com"), 201)
    answers = at_once([partial(b.login, "ann@example.com", "wrong guess") for b in guessers])
    # Counted before the password is checked: the first five are checked (and fail), the other
    # five arrive inside the wait the fifth failure started (docs/admin-api.md).
    assert outcomes(answers) == {(400, 0): logins.ACCOUNT_LIMIT, (429, 0): CONCURRENT - 5}
    with db_engine.connect() as connection:
        count = connection.scalar(
            select(LoginFailure.count).where(LoginFailure.key == "account:ann@example.com")
        )
    assert count == logins.ACCOUNT_LIMIT


def test_simultaneous_role_changes_leave_one_owner(
    browsers: Callable[..., list[Browser]], db_engine: Engine
) -> None:
    """The owner hands ownership to an administrator while another administrator demotes that
    one: whichever runs second sees the first's result, so exactly one OWNER remains."""
    owner, admin, other = browsers(3)
    ok(owner.sign_up("owner@example.com"), 201)
    ok(owner.login("owner@example.com"))
    ids = {}
    for email in ("admin@example.com", "other@example.com"):
        body = {"email": email, "password": PASSWORD, "firstName": "A", "lastName": "B"}
        ids[email] = ok(owner.post("/admin/user", body | {"role": "ADMINISTRATOR"}), 201)["userId"]
    ok(admin.login("admin@example.com"))
    ok(other.login("other@example.com"))
    for _ in range(5):
        at_once(
            [
                lambda: owner.put(
                    "/admin/user/global/role",
                    {"userId": ids["admin@example.com"], "role": "OWNER"},
                ),
                lambda: other.put(
                    "/admin/user/global/role",
                    {"userId": ids["admin@example.com"], "role": "USER"},
                ),
            ]
        )
        with db_engine.connect() as connection:
            owners = connection.scalar(
                select(func.count()).select_from(User).where(User.global_role == "OWNER")
            )
        assert owners == 1


@pytest.mark.slow
def test_two_served_processes_with_workers_share_the_throttle(
    make_settings: Callable[..., Any], db_engine: Engine
) -> None:
    """Two `facegate serve --workers 2` (four processes) on one database: wrong passwords sent
    to both, one after another and then at once, are counted once each, in one counter."""
    settings = make_settings()
    url, data = settings.resolved_database_url, settings.data_dir
    with serving(url, data, "--workers", "2") as one, serving(url, data, "--workers", "2") as two:
        b1, b2 = Browser(one), Browser(two)
        try:
            ok(b1.sign_up("ann@example.com"), 201)
            for n in range(3):
                assert (b1 if n % 2 else b2).login("ann@example.com", "wrong").status_code == 400
            with db_engine.connect() as connection:
                assert (
                    connection.scalar(
                        select(LoginFailure.count).where(
                            LoginFailure.key == "account:ann@example.com"
                        )
                    )
                    == 3
                )
            guessers = [Browser(one if n % 2 else two) for n in range(6)]
            answers = at_once([partial(b.login, "ann@example.com", "wrong") for b in guessers])
            assert outcomes(answers) == {(400, 0): 2, (429, 0): 4}
            for b in guessers:
                b.close()
        finally:
            b1.close()
            b2.close()


def test_simultaneous_app_owner_changes_leave_one_owner(
    browsers: Callable[..., list[Browser]], db_engine: Engine
) -> None:
    """Two members named the application's OWNER at the same moment: each hand-over reads the
    owner the other one made, so the application keeps exactly one."""
    owner, other = browsers(2)
    ok(owner.sign_up("owner@example.com"), 201)
    ok(owner.login("owner@example.com"))
    body = {"email": "other@example.com", "password": PASSWORD, "firstName": "O", "lastName": "T"}
    ok(owner.post("/admin/user", body | {"role": "ADMINISTRATOR"}), 201)
    ok(other.login("other@example.com"))
    app_id = ok(owner.post("/admin/app", {"name": "door"}), 201)["id"]
    ids = []
    for n in range(2):
        email = f"member{n}@example.com"
        body = {"email": email, "password": PASSWORD, "firstName": "M", "lastName": str(n)}
        ids.append(ok(owner.post("/admin/user", body), 201)["userId"])
        invitation = {"userEmail": email, "role": "USER"}
        ok(owner.post(f"/admin/app/{app_id}/invite", invitation), 201)
    for _ in range(5):
        at_once(
            [
                partial(b.put, f"/admin/app/{app_id}/role", {"userId": user, "role": "OWNER"})
                for b, user in zip((owner, other), ids, strict=True)
            ]
        )
        with db_engine.connect() as connection:
            owners = connection.scalar(
                select(func.count()).select_from(AppMember).where(AppMember.role == "OWNER")
            )
        assert owners == 1


def test_a_reset_link_used_by_several_requests_at_once_works_once(
    browsers: Callable[..., list[Browser]], db_engine: Engine
) -> None:
    first, *others = browsers(CONCURRENT + 1)
    ok(first.sign_up("ann@example.com"), 201)
    with session_factory(db_engine)() as s, s.begin():
        user = s.scalars(select(User)).one()
        token = accounts.issue_token(s, user=user, purpose=accounts.RESET)
    path = f"/admin/user/reset-password?token={token}"
    answers = at_once(
        [partial(b.put, path, {"password": f"new password {n}"}) for n, b in enumerate(others)]
    )
    assert outcomes(answers) == {(204, None): 1, (400, 30): CONCURRENT - 1}
