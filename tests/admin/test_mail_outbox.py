"""Account e-mails through the outbox, over real HTTP and a real SMTP server, on SQLite and
PostgreSQL: a password reset answers the same whatever the address and the mail server, the
worker retries, and owners see the failures."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from facegate.db.tables import OutgoingMail
from tests.support.clients import PASSWORD, Browser, ok, refused
from tests.support.mail import Mailbox, smtp_server
from tests.support.servers import database, free_port, serve

# Medians of 20 answers per case may differ by this much. Before the outbox a registered
# address took 30 to 200 ms more than an unknown one (the SMTP exchange inside the request,
# issue 24) and a mail server that was down answered 500. Now the request does the same work
# for every address (one counter, one row: the worker finds the account), so what is left is
# the machine's noise: medians 5 to 11 ms, within 3 ms of each other on SQLite and PostgreSQL.
# 15 ms stays clear of that noise on a busy machine and far under the 30 ms it used to leak.
MARGIN_SECONDS = 0.015
TRIES = 20


@contextmanager
def facegate_with_mail(
    make_settings: Callable[..., Any], **overrides: Any
) -> Iterator[tuple[Browser, int]]:
    """facegate with e-mail on, pointing at a port where an SMTP server runs (or not: the test
    starts it); the owner's browser (not logged in yet) and the SMTP port."""
    smtp_port, port = free_port(), free_port()
    settings = make_settings(
        public_url=f"http://127.0.0.1:{port}",
        enable_email_server=True,
        email_host=f"127.0.0.1:{smtp_port}",
        email_from="facegate <noreply@example.com>",
        events_poll_seconds=0.1,
        **overrides,
    )
    with serve(settings, port=port) as url:
        owner = Browser(url)
        yield owner, smtp_port
        owner.close()


@pytest.fixture
def mail_server(make_settings: Callable[..., Any]) -> Iterator[tuple[Browser, int]]:
    """Retrying fast: 0.2 s, then 0.4 s..."""
    with facegate_with_mail(make_settings, mail_retry_initial_seconds=0.2) as served:
        yield served


def first_owner(owner: Browser, box: Mailbox) -> None:
    ok(owner.sign_up("owner@example.com"), 201)
    box.wait_for(1)
    assert httpx.get(box.link()).status_code == 303
    ok(owner.login("owner@example.com"))


def idle(owner: Browser) -> bool:
    """Whether the mail worker has no mail to send now (those waiting a minute are not due)."""
    return not any(m["attempts"] == 0 for m in ok(owner.get("/admin/mail?state=pending")))


def timed(b: Browser, email: str) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    response = b.post("/admin/user/forgot-password", {"email": email})
    return time.perf_counter() - start, response


def test_a_reset_answers_alike_for_any_address_and_mail_server(
    make_settings: Callable[..., Any],
) -> None:
    times: dict[str, list[float]] = {}
    answers: set[tuple[int, bytes]] = set()

    def ask(b: Browser, case: str, email: str) -> None:
        seconds, response = timed(b, email)
        times.setdefault(case, []).append(seconds)
        answers.add((response.status_code, response.content))
        # The mail worker (and the SMTP server) run in this process too: the next request is
        # timed once the worker is done with this one's mail, not while it works on it.
        deadline = time.monotonic() + 10
        while not idle(owner):
            assert time.monotonic() < deadline, "the mail worker never finished"
            time.sleep(0.005)

    # Retrying once a minute: the worker's retries of the mails that fail while the mail
    # server is down would be timed as the requests' own work otherwise.
    with facegate_with_mail(make_settings, mail_retry_initial_seconds=60) as (owner, smtp_port):
        with smtp_server(smtp_port) as (box, _port):
            first_owner(owner, box)
        for n in range(TRIES):
            body = {"email": f"user{n}@example.com", "password": PASSWORD, "firstName": "U"}
            ok(owner.post("/admin/user", body | {"lastName": "V"}), 201)
        asker = Browser(owner.url)
        # The four cases one after the other, twenty times, the mail server started and stopped
        # each time: a slower moment of the machine (shared with other work) hits every case.
        for n in range(TRIES):
            with smtp_server(smtp_port) as (box, _port):
                ask(asker, "registered", f"user{n}@example.com")
                ask(asker, "unknown", f"nobody{n}@example.com")
                box.wait_for(1)
            # Nothing listens on the mail server's port now.
            ask(asker, "registered, mail down", f"user{n}@example.com")
            ask(asker, "unknown, mail down", f"nobody{n}@example.com")
        asker.close()
    assert answers == {(204, b"")}
    medians = {case: statistics.median(seconds) for case, seconds in times.items()}
    print({case: f"{median * 1000:.1f} ms" for case, median in medians.items()})
    assert max(medians.values()) - min(medians.values()) < MARGIN_SECONDS, medians


def test_mail_waits_for_the_server_and_failures_are_shown_to_owners_only(
    mail_server: tuple[Browser, int], db_engine: Engine
) -> None:
    owner, smtp_port = mail_server
    with smtp_server(smtp_port) as (box, _port):
        first_owner(owner, box)
    (confirmed,) = ok(owner.get("/admin/audit", params={"action": "user.confirmed"}))["items"]
    assert (confirmed["actor"], confirmed["detail"]) == ("owner@example.com", {"role": "OWNER"})
    body = {"email": "ann@example.com", "password": PASSWORD, "firstName": "A", "lastName": "B"}
    ok(owner.post("/admin/user", body), 201)
    ann = Browser(owner.url)
    ok(ann.post("/admin/user/forgot-password", {"email": "ann@example.com"}), 204)

    def reset_mail() -> dict[str, Any]:
        return next(m for m in ok(owner.get("/admin/mail")) if m["kind"] == "reset")

    deadline = time.monotonic() + 10
    while reset_mail()["attempts"] < 2:  # retried with backoff while the server is down
        assert time.monotonic() < deadline, reset_mail()
        time.sleep(0.05)
    waiting = reset_mail()
    assert waiting["state"] == "pending" and waiting["recipient"] == "ann@example.com"
    assert "Connection refused" in waiting["error"]
    assert "text" not in waiting  # the text holds the token
    ok(ann.login("ann@example.com"))
    refused(ann.get("/admin/mail"), 403, 9)
    with smtp_server(smtp_port) as (box, _port):
        box.wait_for(1)
        assert "reset-password?token=" in box.link()
    deadline = time.monotonic() + 10
    while reset_mail()["state"] != "sent":
        assert time.monotonic() < deadline, reset_mail()
        time.sleep(0.05)
    with db_engine.connect() as connection:
        texts = connection.scalars(select(OutgoingMail.text)).all()
    assert texts == ["", ""]  # sent: the tokens are gone from the database
    ann.close()


def test_a_mail_given_up_on_is_marked_failed(make_settings: Callable[..., Any]) -> None:
    settings = make_settings(
        enable_email_server=True,
        email_host=f"127.0.0.1:{free_port()}",  # nothing ever listens there
        mail_max_attempts=2,
        mail_retry_initial_seconds=0.1,
        events_poll_seconds=0.1,
    )
    with serve(settings) as url, database(settings) as sessions:
        b = Browser(url)
        ok(b.sign_up("owner@example.com"), 201)
        refused(b.login("owner@example.com"), 400, 0)  # unconfirmed: its mail never leaves
        deadline = time.monotonic() + 10
        while True:
            with sessions() as s:
                mail = s.scalars(select(OutgoingMail)).one()
            if mail.state == "failed":
                break
            assert time.monotonic() < deadline, (mail.state, mail.attempts)
            time.sleep(0.05)
        assert (mail.attempts, mail.text) == (2, "")
        b.close()
