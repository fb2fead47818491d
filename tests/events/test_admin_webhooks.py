"""Webhooks in the admin API over real HTTP on both databases: adding one (its secret shown
once), refusals, roles, switching off, deleting, MQTT's switch, and the deliveries list with
what each attempt answered; a delivery that fails its last attempt lets the next one go."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.clients import Browser, ok, refused
from tests.support.receiver import FAST, Receiver, wait_for
from tests.support.servers import free_port, serve


@pytest.fixture
def owner(make_settings: Callable[..., Any]) -> Iterator[Browser]:
    """The first account (the global owner), logged in, on a server giving up after 2 tries."""
    with serve(make_settings(**FAST | {"events_max_attempts": 2})) as url:
        browser = Browser(url)
        ok(browser.sign_up("owner@example.com"), 201)
        ok(browser.login("owner@example.com"))
        yield browser
        browser.close()


def _add_subject(b: Browser, api_key: str, name: str) -> None:
    body = {"subject": name}
    response = b.post("/api/v1/recognition/subjects", body, headers={"x-api-key": api_key})
    assert response.status_code == 201, response.text


def test_webhooks_and_their_deliveries(owner: Browser) -> None:
    b = owner
    app = ok(b.post("/admin/app", {"name": "Home"}), 201)
    service = ok(
        b.post(f"/admin/app/{app['id']}/model", {"name": "door", "type": "recognition"}), 201
    )
    base = f"/admin/app/{app['id']}/model/{service['id']}"
    up, down = free_port(), free_port()
    added = ok(b.post(f"{base}/webhooks", {"url": f"http://127.0.0.1:{up}/"}), 201)
    assert len(added["secret"]) == 64 and added["events"] == [] and added["enabled"]
    only_deletes = {"url": f"http://127.0.0.1:{down}/", "events": ["subject.added"]}
    failing = ok(b.post(f"{base}/webhooks", only_deletes), 201)
    listed = ok(b.get(f"{base}/webhooks"))
    assert [hook["id"] for hook in listed] == [added["id"], failing["id"]]
    assert all("secret" not in hook for hook in listed)  # shown once, at creation
    for bad in ("ftp://example.com/", "http://127.0.0.1:99999/", "http:///path", "x" * 3000):
        refused(b.post(f"{base}/webhooks", {"url": bad}), 400, 26)
    refused(b.post(f"{base}/webhooks", {"url": "http://h/", "events": ["face.seen"]}), 400, 26)
    refused(b.delete(f"{base}/webhooks/{'0' * 36}"), 404, 0)

    with Receiver(up) as receiver:
        _add_subject(b, service["apiKey"], "ann")
        _add_subject(b, service["apiKey"], "bob")
        wait_for(lambda: len(receiver.received) == 2, "two deliveries")

        def settled() -> bool:
            return all(d["state"] != "pending" for d in ok(b.get(f"{base}/deliveries")))

        wait_for(settled, "the failing hook's last attempts")
    deliveries = ok(b.get(f"{base}/deliveries"))
    delivered = [d for d in deliveries if d["webhookId"] == added["id"]]
    failed = [d for d in deliveries if d["webhookId"] == failing["id"]]
    assert [(d["state"], d["statusCode"], d["attempts"]) for d in delivered] == [
        ("delivered", 204, 1)
    ] * 2
    assert [(d["state"], d["attempts"], d["nextAttemptAt"]) for d in failed] == [
        ("failed", 2, None)
    ] * 2
    assert all(d["error"] and d["type"] == "subject.added" for d in failed)
    assert [r.event["data"]["subject"] for r in receiver.received] == ["ann", "bob"]

    # Switched off, a hook is given no new events; deleted, it is gone with its deliveries.
    off = ok(b.put(f"{base}/webhooks/{added['id']}", {"enabled": False}))
    assert off["enabled"] is False
    _add_subject(b, service["apiKey"], "cy")
    assert len(ok(b.get(f"{base}/deliveries"))) == 5  # the failing hook's third
    ok(b.delete(f"{base}/webhooks/{failing['id']}"), 204)
    refused(b.delete(f"{base}/webhooks/{failing['id']}"), 404, 0)
    assert {d["webhookId"] for d in ok(b.get(f"{base}/deliveries"))} == {added["id"]}

    settings = f"{base}/settings"
    assert ok(b.get(base))["mqttEvents"] is False
    assert ok(b.put(settings, {"mqttEvents": True}))["mqttEvents"] is True
    refused(b.put(settings, {"mqttEvents": "often"}), 400, 26)


def test_only_service_editors_manage_webhooks(owner: Browser) -> None:
    b = owner
    app = ok(b.post("/admin/app", {"name": "Home"}), 201)
    service = ok(
        b.post(f"/admin/app/{app['id']}/model", {"name": "door", "type": "recognition"}), 201
    )
    base = f"/admin/app/{app['id']}/model/{service['id']}"
    hook = ok(b.post(f"{base}/webhooks", {"url": "http://127.0.0.1:9/"}), 201)
    reader = Browser(b.url)
    try:
        ok(reader.sign_up("reader@example.com"), 201)
        user = ok(reader.login("reader@example.com"))
        body = {"userEmail": user["email"], "role": "USER"}
        ok(b.post(f"/admin/app/{app['id']}/invite", body), 201)
        assert [h["id"] for h in ok(reader.get(f"{base}/webhooks"))] == [hook["id"]]
        assert ok(reader.get(f"{base}/deliveries")) == []
        refused(reader.post(f"{base}/webhooks", {"url": "http://127.0.0.1:9/"}), 400, 9)
        refused(reader.put(f"{base}/webhooks/{hook['id']}", {"enabled": False}), 400, 9)
        refused(reader.delete(f"{base}/webhooks/{hook['id']}"), 400, 9)
    finally:
        reader.close()
