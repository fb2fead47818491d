"""The audit trail over real HTTP on SQLite and PostgreSQL: each security-relevant action is
recorded once with its actor and address, owners and administrators read it (paged, filtered,
exported), nobody else does; and the retention."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from facegate.admin import audit
from facegate.db.tables import AuditEvent
from tests.support import ADMIN_KEY
from tests.support.clients import PASSWORD, SUBJECTS, Browser, ok, refused
from tests.support.servers import serve

OWNER, ADMIN, USER = "owner@example.com", "admin@example.com", "user@example.com"


@pytest.fixture
def url(make_settings: Callable[..., Any]) -> Iterator[str]:
    with serve(make_settings()) as served:
        yield served


def new_user(owner: Browser, email: str, role: str = "USER") -> str:
    body = {"email": email, "password": PASSWORD, "firstName": "A", "lastName": "B", "role": role}
    user_id: str = ok(owner.post("/admin/user", body), 201)["userId"]
    return user_id


def test_every_listed_action_is_recorded_once_with_its_actor(url: str) -> None:
    owner, admin, user, stranger = (Browser(url) for _ in range(4))
    ok(owner.sign_up(OWNER), 201)
    ok(owner.login(OWNER))
    refused(stranger.login(OWNER, "a wrong guess"), 400, 0)
    admin_id = new_user(owner, ADMIN)
    user_id = new_user(owner, USER)
    ok(owner.put("/admin/user/global/role", {"userId": admin_id, "role": "ADMINISTRATOR"}))
    ok(admin.login(ADMIN))
    ok(user.login(USER))
    app_id = ok(admin.post("/admin/app", {"name": "door"}), 201)["id"]
    ok(admin.post(f"/admin/app/{app_id}/invite", {"userEmail": USER, "role": "USER"}), 201)
    ok(admin.put(f"/admin/app/{app_id}/role", {"userId": user_id, "role": "ADMINISTRATOR"}))
    models = f"/admin/app/{app_id}/model"
    service = ok(admin.post(models, {"name": "front", "type": "recognition"}), 201)
    service_path = f"{models}/{service['id']}"
    ok(admin.get(service_path))
    ok(admin.get(f"/admin/app/{app_id}/models"))
    key = ok(admin.put(f"{service_path}/apikey"))["apiKey"]
    hook = ok(admin.post(f"{service_path}/webhooks", {"url": "http://127.0.0.1:9/"}), 201)
    ok(admin.delete(f"{service_path}/webhooks/{hook['id']}"), 204)
    ok(
        admin.put("/admin/user/me/password", {"oldPassword": PASSWORD, "newPassword": PASSWORD}),
        204,
    )
    with httpx.Client(base_url=url, headers={"x-api-key": key}) as face_api:
        assert face_api.post(SUBJECTS, json={"subject": "Ann"}).status_code == 201
        assert face_api.delete(f"{SUBJECTS}/Ann").status_code == 200
        assert face_api.delete(SUBJECTS).status_code == 200
        assert face_api.delete("/api/v1/recognition/faces?subject=Bob").status_code == 200
        assert face_api.post("/api/v1/recognition/faces/delete", json=[]).status_code == 200
    migrate = httpx.post(f"{url}/api/v1/migrate", headers={"x-admin-key": ADMIN_KEY})
    assert migrate.status_code == 200, migrate.text
    ok(admin.delete(f"/admin/app/{app_id}/user/{user_id}"), 204)
    ok(owner.delete(service_path), 204)
    ok(owner.delete(f"/admin/app/{app_id}"), 204)
    ok(owner.delete(f"/admin/user/{user_id}"), 204)

    trail = ok(owner.get("/admin/audit", params={"size": 500}))
    entries = trail["items"]
    assert trail["total"] == len(entries)
    by_service = f"API key of service {service['name']}"
    assert Counter((e["action"], e["actor"]) for e in entries) == {
        ("user.registered", OWNER): 1,
        ("login", OWNER): 1,
        ("login.failed", None): 1,
        ("user.created", OWNER): 2,
        ("user.role", OWNER): 1,
        ("login", ADMIN): 1,
        ("login", USER): 1,
        ("app.created", ADMIN): 1,
        ("app.member.added", ADMIN): 1,
        ("app.member.role", ADMIN): 1,
        ("service.created", ADMIN): 1,
        ("service.apikey.shown", ADMIN): 2,  # the service, and the list holding it
        ("service.apikey.regenerated", ADMIN): 1,
        ("webhook.created", ADMIN): 1,
        ("webhook.deleted", ADMIN): 1,
        ("user.password", ADMIN): 1,
        ("subject.deleted", by_service): 2,  # one subject, then all of them
        ("example.deleted", by_service): 2,  # a subject's examples, then a list of ids
        ("migration.started", "admin key"): 1,
        ("app.member.removed", ADMIN): 1,
        ("service.deleted", OWNER): 1,
        ("app.deleted", OWNER): 1,
        ("user.deleted", OWNER): 1,
    }
    assert {e["address"] for e in entries} == {"127.0.0.1"}
    failed = next(e for e in entries if e["action"] == "login.failed")
    assert (failed["target"], failed["detail"]) == (OWNER, {"reason": "Bad credentials"})
    role = next(e for e in entries if e["action"] == "user.role")
    assert (role["target"], role["detail"]) == (admin_id, {"role": "ADMINISTRATOR"})
    times = [e["time"] for e in entries]
    assert times == sorted(times, reverse=True)  # newest first
    for b in (owner, admin, user, stranger):
        b.close()


def test_only_owners_and_administrators_read_the_trail(url: str) -> None:
    owner, admin, user, anonymous = (Browser(url) for _ in range(4))
    ok(owner.sign_up(OWNER), 201)
    ok(owner.login(OWNER))
    new_user(owner, ADMIN, "ADMINISTRATOR")
    new_user(owner, USER)
    ok(admin.login(ADMIN))
    ok(user.login(USER))
    for path in ("/admin/audit", "/admin/audit/export", "/admin/mail"):
        assert owner.get(path).status_code == 200
        assert admin.get(path).status_code == 200
        refused(user.get(path), 403, 9)
        refused(anonymous.get(path), 401, 1)
    for b in (owner, admin, user, anonymous):
        b.close()


def test_the_trail_is_paged_filtered_and_exported(url: str) -> None:
    owner, stranger = Browser(url), Browser(url)
    ok(owner.sign_up(OWNER), 201)
    for _ in range(3):
        refused(stranger.login(OWNER, "a wrong guess"), 400, 0)
    ok(owner.login(OWNER))
    logins = ok(owner.get("/admin/audit", params={"action": "login"}))
    assert [e["action"] for e in logins["items"]] == ["login"] + ["login.failed"] * 3
    failed = ok(owner.get("/admin/audit", params={"action": "login.failed", "size": 2, "page": 1}))
    assert (failed["total"], len(failed["items"]), failed["page"]) == (3, 1, 1)
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert ok(owner.get("/admin/audit", params={"since": later.isoformat()}))["total"] == 0
    assert ok(owner.get("/admin/audit", params={"until": later.isoformat()}))["total"] == 5
    # The same moment written in another zone, or without one (UTC), bounds the same.
    elsewhere = later.astimezone(timezone(timedelta(hours=-5))).isoformat()
    assert ok(owner.get("/admin/audit", params={"until": elsewhere}))["total"] == 5
    naive = later.replace(tzinfo=None).isoformat()
    assert ok(owner.get("/admin/audit", params={"since": naive}))["total"] == 0
    earlier = (datetime.now(UTC) - timedelta(hours=1)).astimezone(timezone(timedelta(hours=9)))
    assert ok(owner.get("/admin/audit", params={"since": earlier.isoformat()}))["total"] == 5

    exported = owner.get("/admin/audit/export")
    assert exported.headers["content-type"].startswith("application/jsonl")
    rows = [json.loads(line) for line in exported.text.splitlines()]
    assert [row["action"] for row in rows] == ["user.registered"] + ["login.failed"] * 3 + [
        "login"
    ]  # oldest first
    table = owner.get("/admin/audit/export", params={"format": "csv", "action": "login"})
    assert table.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(table.text)))
    assert [line["action"] for line in lines] == ["login.failed"] * 3 + ["login"]
    assert lines[-1]["actor"] == OWNER and lines[0]["actor"] == ""
    owner.close()
    stranger.close()


def test_entries_past_the_retention_are_pruned(s: Session) -> None:
    actor = audit.Actor(None, "admin key", None)
    audit.record(s, audit.MIGRATION_STARTED, actor=actor)
    s.flush()
    old = AuditEvent(at=datetime.now(UTC) - timedelta(days=400), action=audit.LOGIN)
    s.add(old)
    s.flush()
    assert audit.prune(s, before=datetime.now(UTC) - timedelta(days=365)) == 1
    assert [e.action for e in s.query(AuditEvent)] == [audit.MIGRATION_STARTED]
