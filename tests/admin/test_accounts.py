"""Accounts over real HTTP on SQLite and PostgreSQL: sign-up and its closing, e-mail confirmation
and password reset through a real SMTP server, passwords, profile, throttling, session expiry."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from facegate.admin import accounts
from facegate.admin.roles import Role
from facegate.db.session import session_factory
from facegate.db.tables import AccountToken, LoginFailure, LoginSession, User
from tests.support.clients import PASSWORD, Browser, ok, refused
from tests.support.mail import Mailbox, smtp_server
from tests.support.servers import free_port, serve

Opener = Callable[[], Browser]


@pytest.fixture
def server(make_settings: Callable[..., Any]) -> Iterator[Callable[..., Opener]]:
    """Start the server with extra settings; returns a function opening browsers on it."""
    started: list[Any] = []
    browsers: list[Browser] = []

    def start(**overrides: Any) -> Opener:
        port = free_port()
        settings = make_settings(public_url=f"http://127.0.0.1:{port}", **overrides)
        context = serve(settings, port=port)
        url = context.__enter__()
        started.append(context)

        def open_browser() -> Browser:
            browsers.append(Browser(url))
            return browsers[-1]

        return open_browser

    yield start
    for b in browsers:
        b.close()
    for context in started:
        context.__exit__(None, None, None)


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as box:
        yield box


def mail_settings(port: int) -> dict[str, Any]:
    return {
        "enable_email_server": True,
        "email_host": f"127.0.0.1:{port}",
        "email_from": "facegate <noreply@example.com>",
    }


def confirmed_sign_up(b: Browser, box: Mailbox, email: str = "ann@example.com") -> None:
    """Sign up, then follow the e-mailed confirmation link."""
    ok(b.sign_up(email), 201)
    box.wait_for(len(box.messages) + 1)
    assert httpx.get(box.link()).status_code == 303


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def expire(db_engine: Engine, table: Any) -> None:
    with db_engine.begin() as connection:
        connection.execute(
            update(table).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


# --- sign-up ----------------------------------------------------------------------------------


def test_config_tells_the_pages_what_is_open(server: Callable[..., Opener]) -> None:
    b = server()()
    assert ok(b.get("/admin/config")) == {
        "mailServiceEnabled": False,
        "signupOpen": True,
        # The fake engine's; the real ones are checked in test_reembed and test_web.
        "faceModel": {
            "name": "fake",
            "calculator": "fake-calculator",
            "licence": "none",
            "inconsistentExamples": 0,
            "examples": 0,
            "embeddedByModel": {},
            "falseAcceptRates": [{"rate": 0.001, "similarity": 0.5, "pairs": 1000, "accepted": 1}],
        },
        "responseFormat": "seed",  # of services that choose none
        "eventProblems": [],
    }
    assert b.http.cookies["facegate_csrf"]


def test_closed_signup_admits_only_the_first_account(server: Callable[..., Opener]) -> None:
    open_browser = server(allow_signup=False)
    owner = open_browser()
    assert ok(owner.get("/admin/config"))["signupOpen"] is True
    assert ok(owner.sign_up("owner@example.com"), 201)["user"]["globalRole"] == "OWNER"
    stranger = open_browser()
    assert ok(stranger.get("/admin/config"))["signupOpen"] is False
    refused(stranger.sign_up("stranger@example.com"), 403, 9)
    refused(stranger.login("stranger@example.com"), 400, 0)
    # The admins create accounts instead.
    ok(owner.login("owner@example.com"))
    body = {"email": "new@example.com", "password": PASSWORD, "firstName": "N", "lastName": "M"}
    ok(owner.post("/admin/user", body), 201)
    assert ok(stranger.login("new@example.com"))["globalRole"] == "USER"


def test_open_signup_stays_open(server: Callable[..., Opener]) -> None:
    b = server()()
    ok(b.sign_up("one@example.com"), 201)
    assert ok(b.sign_up("two@example.com"), 201)["user"]["globalRole"] == "USER"
    assert ok(b.get("/admin/config"))["signupOpen"] is True


# --- e-mail: confirmation and reset against a real SMTP server --------------------------------


def test_signup_is_confirmed_by_the_emailed_link(
    server: Callable[..., Opener], mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    b = server(**mail_settings(port))()
    created = ok(b.sign_up("ann@example.com"), 201)
    assert created["confirmationRequired"] is True
    refused(b.login("ann@example.com"), 400, 0)  # "User is disabled"
    box.wait_for(1)
    assert len(box.messages) == 1 and box.messages[0]["To"] == "ann@example.com"
    assert box.messages[0]["From"] == "facegate <noreply@example.com>"
    link = box.link()
    assert link.startswith(f"{b.url}/admin/user/registration/confirm?token=")
    followed = httpx.get(link)
    assert followed.status_code == 303
    assert followed.headers["location"] == f"{b.url}/login?confirmed=1"
    assert ok(b.login("ann@example.com"))["globalRole"] == "OWNER"  # first confirmed account
    refused(httpx.get(link), 403, 25)  # single use


def test_an_expired_confirmation_frees_the_address(
    server: Callable[..., Opener], mailbox: tuple[Mailbox, int], db_engine: Engine
) -> None:
    box, port = mailbox
    b = server(**mail_settings(port))()
    ok(b.sign_up("ann@example.com"), 201)
    refused(b.sign_up("ann@example.com"), 400, 4)  # the link is still valid
    expire(db_engine, AccountToken)
    box.wait_for(1)
    refused(httpx.get(box.link()), 403, 25)
    ok(b.sign_up("ann@example.com"), 201)
    box.wait_for(2)
    assert len(box.messages) == 2
    assert httpx.get(box.link()).status_code == 303
    ok(b.login("ann@example.com"))


def test_forgot_password_needs_the_mail_server(server: Callable[..., Opener]) -> None:
    b = server()()
    refused(b.post("/admin/user/forgot-password", {"email": "a@example.com"}), 500, 29)


def test_password_reset_link_works_once(
    server: Callable[..., Opener], mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    open_browser = server(**mail_settings(port))
    b = open_browser()
    confirmed_sign_up(b, box)
    elsewhere = open_browser()
    ok(elsewhere.login("ann@example.com"))

    ok(b.post("/admin/user/forgot-password", {"email": "nobody@example.com"}), 204)
    assert len(box.messages) == 1  # nothing sent, and the answer is the same
    ok(b.post("/admin/user/forgot-password", {"email": "ANN@example.com"}), 204)
    box.wait_for(2)
    assert len(box.messages) == 2
    link = box.link()
    assert link.startswith(f"{b.url}/reset-password?token=")
    token = token_of(link)
    reset = f"/admin/user/reset-password?token={token}"
    refused(b.put(reset, {"password": "short"}), 400, 26)
    ok(b.put(reset, {"password": "a brand new secret"}), 204)
    refused(b.put(reset, {"password": "yet another secret"}), 400, 30)  # single use
    refused(elsewhere.get("/admin/user/me"), 401, 1)  # every session ended
    refused(b.login("ann@example.com"), 400, 0)
    ok(b.login("ann@example.com", "a brand new secret"))


def test_password_reset_link_expires_and_is_replaced(
    server: Callable[..., Opener], mailbox: tuple[Mailbox, int], db_engine: Engine
) -> None:
    box, port = mailbox
    b = server(**mail_settings(port))()
    confirmed_sign_up(b, box)
    ok(b.post("/admin/user/forgot-password", {"email": "ann@example.com"}), 204)
    box.wait_for(2)
    first = token_of(box.link())
    ok(b.post("/admin/user/forgot-password", {"email": "ann@example.com"}), 204)
    box.wait_for(3)
    second = token_of(box.link())
    body = {"password": "a brand new secret"}
    refused(b.put(f"/admin/user/reset-password?token={first}", body), 400, 30)  # replaced
    expire(db_engine, AccountToken)
    refused(b.put(f"/admin/user/reset-password?token={second}", body), 400, 30)  # expired
    refused(b.put("/admin/user/reset-password?token=made-up", body), 400, 30)
    ok(b.login("ann@example.com"))


def test_reset_mails_are_throttled_per_address(
    server: Callable[..., Opener], mailbox: tuple[Mailbox, int], db_engine: Engine
) -> None:
    box, port = mailbox
    b = server(**mail_settings(port))()
    confirmed_sign_up(b, box)
    for _ in range(3):
        ok(b.post("/admin/user/forgot-password", {"email": "ann@example.com"}), 204)
    box.wait_for(4)
    assert len(box.messages) == 4  # the confirmation and three reset links
    message = refused(b.post("/admin/user/forgot-password", {"email": "Ann@example.com"}), 429, 0)
    assert message.startswith("Too many password reset e-mails")
    assert len(box.messages) == 4
    # Unknown addresses are counted too, so the answers do not tell which ones exist.
    for _ in range(3):
        ok(b.post("/admin/user/forgot-password", {"email": "nobody@example.com"}), 204)
    refused(b.post("/admin/user/forgot-password", {"email": "nobody@example.com"}), 429, 0)
    with db_engine.begin() as connection:
        connection.execute(
            update(LoginFailure).values(last_failure_at=datetime.now(UTC) - timedelta(hours=2))
        )
    ok(b.post("/admin/user/forgot-password", {"email": "ann@example.com"}), 204)
    box.wait_for(5)
    assert len(box.messages) == 5


# --- own account --------------------------------------------------------------------------------


def test_change_password_ends_the_other_sessions(server: Callable[..., Opener]) -> None:
    open_browser = server()
    b, elsewhere = open_browser(), open_browser()
    ok(b.sign_up("ann@example.com"), 201)
    ok(b.login("ann@example.com"))
    ok(elsewhere.login("ann@example.com"))
    change = "/admin/user/me/password"
    refused(b.put(change, {"oldPassword": "wrong password", "newPassword": "12345678"}), 400, 18)
    refused(b.put(change, {"oldPassword": PASSWORD, "newPassword": "1234"}), 400, 26)
    ok(b.put(change, {"oldPassword": PASSWORD, "newPassword": "a brand new secret"}), 204)
    ok(b.get("/admin/user/me"))
    refused(elsewhere.get("/admin/user/me"), 401, 1)
    ok(elsewhere.login("ann@example.com", "a brand new secret"))


def test_update_profile(server: Callable[..., Opener]) -> None:
    b = server()()
    ok(b.sign_up("ann@example.com"), 201)
    ok(b.login("ann@example.com"))
    changed = ok(b.put("/admin/user/update", {"firstName": " Anna ", "lastName": "Berg"}))
    assert (changed["firstName"], changed["lastName"]) == ("Anna", "Berg")
    refused(b.put("/admin/user/update", {"firstName": "", "lastName": "Berg"}), 400, 5)
    assert ok(b.get("/admin/user/me"))["firstName"] == "Anna"


# --- throttling and expiry ----------------------------------------------------------------------


def test_failed_logins_are_throttled_per_account(
    server: Callable[..., Opener], db_engine: Engine
) -> None:
    b = server()()
    ok(b.sign_up("ann@example.com"), 201)
    for _ in range(5):
        refused(b.login("ann@example.com", "wrong password"), 400, 0)
    with db_engine.begin() as connection:
        counts = dict(connection.execute(select(LoginFailure.key, LoginFailure.count)).all())
        assert counts == {"account:ann@example.com": 5, "address:127.0.0.1": 5}
        # Ten more failures' worth: the wait is capped at 15 minutes.
        connection.execute(
            update(LoginFailure)
            .where(LoginFailure.key == "account:ann@example.com")
            .values(count=15, last_failure_at=datetime.now(UTC))
        )
    message = refused(b.login("ann@example.com"), 429, 0)  # even the right password waits
    seconds = int(message.split(" in ")[1].split()[0])
    assert 800 < seconds <= 900
    with db_engine.begin() as connection:
        connection.execute(
            update(LoginFailure).values(last_failure_at=datetime.now(UTC) - timedelta(hours=2))
        )
    ok(b.login("ann@example.com"))
    with db_engine.begin() as connection:
        keys = set(connection.scalars(select(LoginFailure.key)))
    assert keys == {"address:127.0.0.1"}  # success clears the account, not the address


def test_failed_logins_are_throttled_per_address(
    server: Callable[..., Opener], db_engine: Engine
) -> None:
    b = server()()
    ok(b.sign_up("ann@example.com"), 201)
    with db_engine.begin() as connection:
        connection.execute(
            LoginFailure.__table__.insert().values(
                key="address:127.0.0.1", count=30, last_failure_at=datetime.now(UTC)
            )
        )
    refused(b.login("ann@example.com"), 429, 0)  # an account never failed, the address did


def test_expired_session_is_refused(server: Callable[..., Opener], db_engine: Engine) -> None:
    b = server()()
    ok(b.sign_up("ann@example.com"), 201)
    ok(b.login("ann@example.com"))
    expire(db_engine, LoginSession)
    refused(b.get("/admin/user/me"), 401, 1)


def test_sessions_slide_while_used(server: Callable[..., Opener], db_engine: Engine) -> None:
    b = server(session_ttl_seconds=3600)()
    ok(b.sign_up("ann@example.com"), 201)
    ok(b.login("ann@example.com"))
    soon = datetime.now(UTC) + timedelta(minutes=10)
    with db_engine.begin() as connection:
        connection.execute(update(LoginSession).values(expires_at=soon))
    response = b.get("/admin/user/me")
    assert "max-age=3600" in response.headers["set-cookie"].lower()
    with db_engine.begin() as connection:
        expires = connection.scalar(select(LoginSession.expires_at))
    assert expires is not None
    assert expires > datetime.now(UTC) + timedelta(minutes=50)


def test_closed_signup_waits_for_a_pending_first_account(
    server: Callable[..., Opener], mailbox: tuple[Mailbox, int], db_engine: Engine
) -> None:
    """While the first account's confirmation link is valid, nobody else signs up; an
    abandoned first sign-up does not lock the server for good."""
    box, port = mailbox
    b = server(allow_signup=False, **mail_settings(port))()
    ok(b.sign_up("first@example.com"), 201)
    refused(b.sign_up("second@example.com"), 403, 9)
    expire(db_engine, AccountToken)
    ok(b.sign_up("second@example.com"), 201)
    box.wait_for(2)
    assert httpx.get(box.link()).status_code == 303
    assert ok(b.login("second@example.com"))["globalRole"] == "OWNER"
    refused(b.sign_up("first@example.com"), 403, 9)


# --- one global OWNER, enforced by the database -------------------------------------------------


def sign_up_directly(db_engine: Engine, email: str) -> str:
    """`accounts.register` in a transaction of its own, as a request does; the role it got."""
    with session_factory(db_engine)() as s, s.begin():
        user = accounts.register(
            s,
            email=email,
            password=PASSWORD,
            first_name="Ann",
            last_name="Lee",
            allow_signup=True,
            confirm_by_email=False,
        )
        return user.global_role


def roles_by_email(db_engine: Engine) -> dict[str, str]:
    with db_engine.begin() as connection:
        return dict(connection.execute(select(User.email, User.global_role)).all())


def add_user(connection: Connection, email: str, role: str) -> None:
    values = {"email": email, "global_role": role, "first_name": "A", "last_name": "B"}
    connection.execute(insert(User).values(values | {"password_hash": "x", "enabled": True}))


def test_simultaneous_first_signups_make_one_owner(db_engine: Engine) -> None:
    count = 8
    start = threading.Barrier(count)

    def sign_up(n: int) -> str:
        start.wait()
        return sign_up_directly(db_engine, f"user{n}@example.com")

    with ThreadPoolExecutor(count) as pool:
        got = list(pool.map(sign_up, range(count)))
    assert sorted(got) == ["OWNER"] + ["USER"] * (count - 1)
    stored = roles_by_email(db_engine)
    assert sorted(stored.values()) == sorted(got)


def test_a_signup_that_loses_the_race_for_owner_becomes_a_user(
    db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race made certain: the second sign-up is told there is no owner yet."""
    assert sign_up_directly(db_engine, "first@example.com") == "OWNER"
    monkeypatch.setattr(accounts, "global_owner", lambda s: None)
    assert sign_up_directly(db_engine, "second@example.com") == "USER"
    assert roles_by_email(db_engine) == {
        "first@example.com": "OWNER",
        "second@example.com": "USER",
    }


def test_the_database_refuses_a_second_owner(db_engine: Engine) -> None:
    with db_engine.begin() as connection:
        add_user(connection, "o@example.com", "OWNER")
        add_user(connection, "a@example.com", "USER")
    with pytest.raises(IntegrityError), db_engine.begin() as connection:
        add_user(connection, "b@example.com", "OWNER")
    with pytest.raises(IntegrityError), db_engine.begin() as connection:
        connection.execute(
            update(User).where(User.email == "a@example.com").values(global_role="OWNER")
        )
    assert roles_by_email(db_engine) == {"o@example.com": "OWNER", "a@example.com": "USER"}


def test_ownership_passes_to_an_older_account(db_engine: Engine) -> None:
    """The new owner's row comes first by id, so the flush would promote before it demotes
    unless the demotion is written first."""
    with db_engine.begin() as connection:
        add_user(connection, "old@example.com", "USER")
        add_user(connection, "own@example.com", "OWNER")
    with session_factory(db_engine)() as s, s.begin():
        owner = s.scalars(select(User).where(User.email == "own@example.com")).one()
        older = s.scalars(select(User).where(User.email == "old@example.com")).one()
        assert older.id < owner.id
        accounts.set_global_role(s, actor=owner, target=older, role=Role.OWNER)
    assert roles_by_email(db_engine) == {
        "old@example.com": "OWNER",
        "own@example.com": "ADMINISTRATOR",
    }
