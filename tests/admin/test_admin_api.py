"""The /admin API over real HTTP on SQLite and PostgreSQL: the role matrix, isolation between
applications, CSRF, session fixation, stolen and revoked sessions, malformed input."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from facegate.admin.roles import Role
from facegate.config import Settings
from tests.support.clients import SESSION_COOKIE, Browser, ok, refused
from tests.support.servers import serve, serving

O, A, U = Role.OWNER, Role.ADMINISTRATOR, Role.USER  # noqa: E741 (the roles' initials)


@pytest.fixture
def base_url(settings: Settings) -> Iterator[str]:
    with serve(settings) as url:
        yield url


@pytest.fixture
def browser(base_url: str) -> Iterator[Callable[[], Browser]]:
    """Open as many independent browsers (cookie jars) as a test needs."""
    opened: list[Browser] = []

    def open_browser() -> Browser:
        opened.append(Browser(base_url))
        return opened[-1]

    yield open_browser
    for each in opened:
        each.close()


def account(open_browser: Callable[[], Browser], email: str) -> tuple[Browser, dict[str, Any]]:
    """A new account, logged in in its own browser."""
    b = open_browser()
    ok(b.sign_up(email), 201)
    return b, ok(b.login(email))


class World:
    """The global OWNER, a global ADMINISTRATOR who created app X (with a recognition service)
    and app Y, and a bystander member of X."""

    def __init__(self, open_browser: Callable[[], Browser]) -> None:
        self.open = open_browser
        self.owner, self.owner_user = account(open_browser, "owner@example.com")
        self.admin, self.admin_user = account(open_browser, "admin@example.com")
        self.set_global_role(self.admin_user, A)
        self.app = ok(self.admin.post("/admin/app", {"name": "X"}), 201)
        self.other_app = ok(self.admin.post("/admin/app", {"name": "Y"}), 201)
        body = {"name": "faces", "type": "recognition"}
        self.service = ok(self.admin.post(f"/admin/app/{self.app['id']}/model", body), 201)
        self.other_service = ok(
            self.admin.post(f"/admin/app/{self.other_app['id']}/model", body), 201
        )
        self.bystander, self.bystander_user = account(open_browser, "bystander@example.com")
        self.invite(self.app, self.bystander_user, U)

    def set_global_role(self, user: dict[str, Any], role: Role) -> None:
        ok(self.owner.put("/admin/user/global/role", {"userId": user["userId"], "role": role}))

    def invite(self, app: dict[str, Any], user: dict[str, Any], role: Role) -> None:
        body = {"userEmail": user["email"], "role": role}
        ok(self.admin.post(f"/admin/app/{app['id']}/invite", body), 201)

    def actor(self, global_role: Role, app_role: Role | None) -> Browser:
        """A browser logged in as a user with these roles in app X."""
        if global_role == O:
            b, user = self.owner, self.owner_user
        else:
            b, user = account(self.open, "actor@example.com")
            if global_role == A:
                self.set_global_role(user, A)
        if app_role is not None:
            self.invite(self.app, user, app_role)
        return b


def expect(response: httpx.Response, allowed: bool, status: int = 200) -> Any:
    if allowed:
        return ok(response, status)
    refused(response, 400, 9)
    return None


MATRIX = list(itertools.product([O, A, U], [O, A, U, None]))


@pytest.mark.parametrize(("global_role", "app_role"), MATRIX)
def test_role_matrix(
    browser: Callable[[], Browser], global_role: Role, app_role: Role | None
) -> None:
    """Every action on an application and its services, for each (global, app) role pair."""
    world = World(browser)
    b = world.actor(global_role, app_role)
    global_admin = global_role in (O, A)
    read = global_admin or app_role is not None
    manage = global_admin or app_role == O
    edit = global_admin or app_role in (O, A)
    app = f"/admin/app/{world.app['id']}"
    service = f"{app}/model/{world.service['id']}"

    shown = expect(b.get(app), read)
    if read:
        assert shown["canManage"] == manage and shown["canEditServices"] == edit
        assert shown["role"] == app_role
    listed = [each["id"] for each in ok(b.get("/admin/apps"))]
    assert (world.app["id"] in listed) == read
    assert (world.other_app["id"] in listed) == global_admin
    services = expect(b.get(f"{app}/models"), read)
    if read:
        assert [each["apiKey"] for each in services] == [world.service["apiKey"]]
    expect(b.get(service), read)
    expect(b.get(f"{service}/statistics"), read)
    expect(b.get(f"{app}/roles"), read)
    assignable = expect(b.get(f"{app}/assign-roles"), read)
    if read:
        assert assignable == ([O, A, U] if manage else [])

    expect(b.post("/admin/app", {"name": "Mine"}), global_admin, 201)
    created = expect(b.post(f"{app}/model", {"name": "new", "type": "detection"}), edit, 201)
    expect(b.put(service, {"name": "renamed"}), edit)
    expect(b.put(f"{service}/settings", {"responseFormat": "compreface-1.2"}), edit)
    expect(b.post(service, {"name": "clone"}), edit, 201)
    rekeyed = expect(b.put(f"{service}/apikey"), edit)
    if edit:
        assert rekeyed["apiKey"] != world.service["apiKey"]

    expect(b.put(app, {"name": "X2"}), manage)
    member = f"{app}/user/{world.bystander_user['userId']}"
    newcomer, newcomer_user = account(world.open, "newcomer@example.com")
    expect(b.post(f"{app}/invite", {"userEmail": newcomer_user["email"], "role": U}), manage, 201)
    role = {"userId": world.bystander_user["userId"], "role": A}
    expect(b.put(f"{app}/role", role), manage)
    expect(b.delete(member), manage, 204)
    if created:
        expect(b.delete(f"{app}/model/{created['id']}"), edit, 204)
    else:
        expect(b.delete(service), edit, 204)
    expect(b.delete(app), manage, 204)
    assert (b.get(app).status_code == 404) == manage
    newcomer.close()


@pytest.mark.parametrize("app_role", [O, A, U])
def test_members_of_one_app_never_reach_another_apps_services(
    browser: Callable[[], Browser], app_role: Role
) -> None:
    world = World(browser)
    b = world.actor(U, app_role)
    other = f"/admin/app/{world.other_app['id']}"
    mine = f"/admin/app/{world.app['id']}"
    foreign = world.other_service["id"]
    refused(b.get(other), 400, 9)
    refused(b.get(f"{other}/models"), 400, 9)
    refused(b.get(f"{other}/model/{foreign}"), 400, 9)
    refused(b.put(f"{other}/model/{foreign}/apikey"), 400, 9)
    refused(b.delete(f"{other}/model/{foreign}"), 400, 9)
    # Through one's own application, another application's service does not exist.
    for response in (
        b.get(f"{mine}/model/{foreign}"),
        b.get(f"{mine}/model/{foreign}/statistics"),
        b.put(f"{mine}/model/{foreign}", {"name": "stolen"}),
        b.post(f"{mine}/model/{foreign}", {"name": "stolen"}),
        b.put(f"{mine}/model/{foreign}/apikey"),
        b.put(f"{mine}/model/{foreign}/settings", {"responseFormat": "seed"}),
        b.delete(f"{mine}/model/{foreign}"),
    ):
        refused(response, 404, 3)
    everything = "".join(b.get(path).text for path in ("/admin/apps", f"{mine}/models"))
    assert world.other_service["apiKey"] not in everything
    # The other service is untouched.
    again = ok(world.admin.get(f"{other}/model/{foreign}"))
    assert (again["name"], again["apiKey"]) == ("faces", world.other_service["apiKey"])
    assert again["responseFormat"] is None


def test_unknown_app_is_404_code_2(browser: Callable[[], Browser]) -> None:
    b, _ = account(browser, "owner@example.com")
    refused(b.get("/admin/app/no-such-app"), 404, 2)


def test_the_standing_is_found_before_the_body_is_validated(
    browser: Callable[[], Browser],
) -> None:
    """The application and service of the path are declared dependencies (decisions.md D82):
    one the caller cannot see is refused as such whatever the body; a member gets code 26."""
    owner, _ = account(browser, "owner@example.com")
    outsider, _ = account(browser, "outsider@example.com")
    app = f"/admin/app/{ok(owner.post('/admin/app', {'name': 'X'}), 201)['id']}"
    service = ok(owner.post(f"{app}/model", {"name": "s", "type": "detection"}), 201)["id"]
    unreadable = {"name": 5}
    refused(outsider.put(app, unreadable), 400, 9)
    refused(outsider.put(f"{app}/model/{service}", unreadable), 400, 9)
    refused(owner.put("/admin/app/no-such-app", unreadable), 404, 2)
    refused(owner.put(f"{app}/model/no-such-service", unreadable), 404, 3)
    refused(owner.put(f"{app}/model/{service}", unreadable), 400, 26)


# --- sessions and CSRF ----------------------------------------------------------------------------


def test_a_write_without_the_csrf_token_is_refused(browser: Callable[[], Browser]) -> None:
    b, _ = account(browser, "owner@example.com")
    refused(b.post("/admin/app", {"name": "X"}, headers={"X-CSRF-Token": ""}), 403, 1)
    refused(b.post("/admin/app", {"name": "X"}, headers={"X-CSRF-Token": "guess"}), 403, 1)
    bare = b.http.post("/admin/app", json={"name": "X"})  # no header at all
    refused(bare, 403, 1)
    assert ok(b.get("/admin/apps")) == []  # nothing was created
    ok(b.post("/admin/app", {"name": "X"}), 201)


def test_anonymous_writes_need_the_csrf_cookie_echoed(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as raw:
        body = {"email": "a@example.com", "password": "12345678", "firstName": "A", "lastName": "B"}
        refused(raw.post("/admin/user/register", json=body), 403, 1)
        raw.get("/admin/config")
        token = raw.cookies["facegate_csrf"]
        ok(raw.post("/admin/user/register", json=body, headers={"X-CSRF-Token": token}), 201)


def test_the_csrf_token_of_another_session_is_refused(browser: Callable[[], Browser]) -> None:
    first, _ = account(browser, "owner@example.com")
    second, _ = account(browser, "other@example.com")
    stolen = first.http.cookies["facegate_csrf"]
    refused(second.post("/admin/logout", headers={"X-CSRF-Token": stolen}), 403, 1)


def test_login_issues_a_new_session_id(browser: Callable[[], Browser]) -> None:
    """Session fixation: the id the browser had before logging in is dead afterwards."""
    b, _ = account(browser, "owner@example.com")
    before = b.session_id
    planted = {SESSION_COOKIE: before}
    ok(b.login("owner@example.com"))
    assert b.session_id and b.session_id != before
    with httpx.Client(base_url=str(b.http.base_url), cookies=planted) as attacker:
        refused(attacker.get("/admin/user/me"), 401, 1)
    ok(b.get("/admin/user/me"))


def test_a_planted_unknown_session_id_is_never_adopted(browser: Callable[[], Browser]) -> None:
    b = browser()
    ok(b.sign_up("owner@example.com"), 201)
    b.http.cookies.set(SESSION_COOKIE, "planted-by-attacker", domain="127.0.0.1", path="/")
    refused(b.get("/admin/user/me"), 401, 1)
    ok(b.login("owner@example.com"))
    assert b.session_id != "planted-by-attacker"


def test_another_users_session_id_is_refused(browser: Callable[[], Browser]) -> None:
    """A session id taken from another user works only with that session's CSRF token, and a
    forged id works not at all."""
    owner, owner_user = account(browser, "owner@example.com")
    other, other_user = account(browser, "other@example.com")
    assert ok(owner.get("/admin/user/me"))["email"] == owner_user["email"]
    assert ok(other.get("/admin/user/me"))["email"] == other_user["email"]
    with httpx.Client(base_url=str(owner.http.base_url)) as thief:
        thief.cookies.set(SESSION_COOKIE, str(owner.session_id))
        thief.cookies.set("facegate_csrf", other.http.cookies["facegate_csrf"])
        mine = {"X-CSRF-Token": other.http.cookies["facegate_csrf"]}
        refused(thief.post("/admin/app", json={"name": "X"}, headers=mine), 403, 1)
        thief.cookies.set(SESSION_COOKIE, "x" + str(owner.session_id))
        refused(thief.get("/admin/user/me"), 401, 1)
    assert ok(owner.get("/admin/apps")) == []


def test_after_logout_the_session_is_refused(browser: Callable[[], Browser]) -> None:
    b, _ = account(browser, "owner@example.com")
    session_id, csrf = b.session_id, b.http.cookies["facegate_csrf"]
    ok(b.post("/admin/logout"), 204)
    assert b.session_id is None
    assert b.http.cookies["facegate_csrf"] != csrf  # a fresh anonymous token: the page can log in
    with httpx.Client(base_url=str(b.http.base_url)) as replay:
        replay.cookies.set(SESSION_COOKIE, str(session_id))
        replay.cookies.set("facegate_csrf", csrf)
        refused(replay.get("/admin/user/me"), 401, 1)
        refused(
            replay.post("/admin/app", json={"name": "X"}, headers={"X-CSRF-Token": csrf}), 401, 1
        )
    ok(b.login("owner@example.com"))
    assert b.session_id not in (None, session_id)


def test_session_cookie_flags(browser: Callable[[], Browser]) -> None:
    b = browser()
    ok(b.sign_up("owner@example.com"), 201)
    response = b.login("owner@example.com")
    cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
    assert "httponly" in cookies[SESSION_COOKIE] and "samesite=lax" in cookies[SESSION_COOKIE]
    assert "httponly" not in cookies["facegate_csrf"]
    assert "max-age=604800" in cookies[SESSION_COOKIE]


def test_every_route_needs_a_session(base_url: str, browser: Callable[[], Browser]) -> None:
    b = browser()
    for method, path in [
        ("GET", "/admin/user/me"),
        ("GET", "/admin/apps"),
        ("GET", "/admin/user/roles"),
        ("POST", "/admin/app"),
        ("GET", "/admin/app/x/models"),
        ("DELETE", "/admin/user/x"),
        ("POST", "/admin/logout"),
    ]:
        refused(b.request(method, path, {"name": "X"} if method == "POST" else None), 401, 1)


# --- users and global roles -----------------------------------------------------------------------


def test_first_user_is_owner_and_later_ones_users(browser: Callable[[], Browser]) -> None:
    _, first = account(browser, "First@Example.com")
    _, second = account(browser, "second@example.com")
    assert (first["globalRole"], second["globalRole"]) == ("OWNER", "USER")
    assert first["email"] == "first@example.com"


def test_granting_owner_hands_ownership_over(browser: Callable[[], Browser]) -> None:
    owner, owner_user = account(browser, "owner@example.com")
    _, other = account(browser, "other@example.com")
    ok(owner.put("/admin/user/global/role", {"userId": other["userId"], "role": "OWNER"}))
    roles = {u["email"]: u["role"] for u in ok(owner.get("/admin/user/roles"))}
    assert roles == {"owner@example.com": "ADMINISTRATOR", "other@example.com": "OWNER"}
    refused(
        owner.put("/admin/user/global/role", {"userId": owner_user["userId"], "role": "USER"}),
        400,
        14,
    )


def test_deleting_a_user_passes_owned_apps_to_the_heir(browser: Callable[[], Browser]) -> None:
    owner, owner_user = account(browser, "owner@example.com")
    admin, admin_user = account(browser, "admin@example.com")
    ok(
        owner.put(
            "/admin/user/global/role", {"userId": admin_user["userId"], "role": "ADMINISTRATOR"}
        )
    )
    app = ok(admin.post("/admin/app", {"name": "X"}), 201)
    # Self-removal: the global OWNER inherits.
    ok(admin.delete(f"/admin/user/{admin_user['userId']}"), 204)
    shown = ok(owner.get(f"/admin/app/{app['id']}"))
    assert shown["owner"]["userId"] == owner_user["userId"]
    refused(admin.get("/admin/user/me"), 401, 1)  # the deleted user's session died with him
    refused(owner.delete(f"/admin/user/{owner_user['userId']}"), 400, 9)
    refused(owner.delete(f"/admin/user/{owner_user['userId']}?replacer=me"), 400, 13)


def test_admin_created_accounts(browser: Callable[[], Browser]) -> None:
    owner, _ = account(browser, "owner@example.com")
    user, _ = account(browser, "user@example.com")
    body = {"email": "new@example.com", "password": "12345678", "firstName": "N", "lastName": "M"}
    refused(user.post("/admin/user", body), 400, 9)
    refused(owner.post("/admin/user", body | {"role": "OWNER"}), 400, 9)
    assert (
        ok(owner.post("/admin/user", body | {"role": "ADMINISTRATOR"}), 201)["role"]
        == "ADMINISTRATOR"
    )
    refused(owner.post("/admin/user", body), 400, 4)
    ok(browser().login("new@example.com", "12345678"))


# --- malformed input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"email": "", "password": "12345678", "firstName": "A", "lastName": "B"}, 5),
        ({"email": "not-an-email", "password": "12345678", "firstName": "A", "lastName": "B"}, 22),
        ({"email": "a@example.com", "password": "short", "firstName": "A", "lastName": "B"}, 26),
        ({"email": "a@example.com", "password": "12345678", "firstName": " ", "lastName": "B"}, 5),
        (
            {
                "email": "a@example.com",
                "password": "12345678",
                "firstName": "A" * 51,
                "lastName": "B",
            },
            26,
        ),
        ({"email": "a@example.com", "password": "12345678", "firstName": "A"}, 26),
        ({"email": ["a"], "password": "12345678", "firstName": "A", "lastName": "B"}, 26),
        (
            {
                "email": "a@example.com",
                "password": "12345678",
                "firstName": "A\x00",
                "lastName": "B",
            },
            26,
        ),
    ],
)
def test_bad_registrations(browser: Callable[[], Browser], body: dict[str, Any], code: int) -> None:
    b = browser()
    refused(b.post("/admin/user/register", body), 400, code)
    ok(b.sign_up("a@example.com"), 201)  # nothing half-created
    refused(b.sign_up("A@EXAMPLE.COM"), 400, 4)


def test_bad_json_and_names(browser: Callable[[], Browser]) -> None:
    b, _ = account(browser, "owner@example.com")
    raw = b.post("/admin/app", content=b"{not json", headers={"Content-Type": "application/json"})
    assert raw.status_code == 400 and raw.json()["code"] == 26
    refused(b.post("/admin/app", {"name": ""}), 400, 5)
    refused(b.post("/admin/app", {"name": "a/b"}), 400, 36)
    refused(b.post("/admin/app", {"name": "x" * 51}), 400, 26)
    # What no database stores is refused in every name (decisions.md D11), PostgreSQL's NUL too.
    nul = b.post("/admin/app", {"name": "a\x00b"})
    assert (
        refused(nul, 400, 26)
        == "Application name cannot contain control characters or unpaired surrogates"
    )
    app = ok(b.post("/admin/app", {"name": "X"}), 201)
    refused(b.post("/admin/app", {"name": "X"}), 400, 17)
    models = f"/admin/app/{app['id']}/model"
    refused(b.post(models, {"name": "s", "type": "nonsense"}), 400, 26)
    service = ok(b.post(models, {"name": "Faces", "type": "recognition"}), 201)
    refused(b.post(models, {"name": "faces", "type": "detection"}), 400, 17)
    refused(b.put(f"{models}/{service['id']}", {"name": "Faces"}), 400, 17)
    assert ok(b.put(f"{models}/{service['id']}", {"name": "FACES"}))["name"] == "FACES"
    refused(
        b.post(
            f"/admin/app/{app['id']}/invite", {"userEmail": "nobody@example.com", "role": "USER"}
        ),
        404,
        16,
    )
    refused(
        b.post(
            f"/admin/app/{app['id']}/invite", {"userEmail": "owner@example.com", "role": "USER"}
        ),
        400,
        19,
    )
    refused(
        b.post(
            f"/admin/app/{app['id']}/invite", {"userEmail": "owner@example.com", "role": "BOSS"}
        ),
        400,
        26,
    )
    assert [s["name"] for s in ok(b.get(f"/admin/app/{app['id']}/models"))] == ["FACES"]


def test_response_format_of_a_service(browser: Callable[[], Browser]) -> None:
    """Each service may choose its response format; `null` is the server's (shown in
    /admin/config). A clone keeps the choice; a format facegate does not know is refused."""
    b, _ = account(browser, "owner@example.com")
    assert ok(b.get("/admin/config"))["responseFormat"] == "seed"
    app = ok(b.post("/admin/app", {"name": "Home"}), 201)
    models = f"/admin/app/{app['id']}/model"
    plain = ok(b.post(models, {"name": "plain", "type": "recognition"}), 201)
    assert plain["responseFormat"] is None
    body = {"name": "double take", "type": "recognition", "responseFormat": "compreface-1.2"}
    double_take = ok(b.post(models, body), 201)
    assert double_take["responseFormat"] == "compreface-1.2"

    settings = f"{models}/{plain['id']}/settings"
    assert ok(b.put(settings, {"responseFormat": "compreface-1.2"}))["responseFormat"] == (
        "compreface-1.2"
    )
    assert ok(b.get(f"{models}/{plain['id']}"))["responseFormat"] == "compreface-1.2"
    clone = ok(b.post(f"{models}/{plain['id']}", {"name": "plain copy"}), 201)
    assert clone["responseFormat"] == "compreface-1.2"
    assert ok(b.put(settings, {"responseFormat": "seed"}))["responseFormat"] == "seed"
    refused(b.put(settings, {"responseFormat": "compreface"}), 400, 26)
    refused(b.post(models, {"name": "x", "type": "detection", "responseFormat": "1.2"}), 400, 26)
    assert ok(b.put(settings, {"responseFormat": None}))["responseFormat"] is None
    listed = {
        each["name"]: each["responseFormat"] for each in ok(b.get(f"/admin/app/{app['id']}/models"))
    }
    assert listed == {
        "double take": "compreface-1.2",
        "plain": None,
        "plain copy": "compreface-1.2",
    }


def test_similarity_threshold_of_a_service(browser: Callable[[], Browser]) -> None:
    """A facegate extension: none by default; set, kept by a clone, left alone when only the
    response format changes, cleared with null; outside 0..1 refused."""
    b, _ = account(browser, "owner@example.com")
    app = ok(b.post("/admin/app", {"name": "Home"}), 201)
    models = f"/admin/app/{app['id']}/model"
    service = ok(b.post(models, {"name": "door", "type": "recognition"}), 201)
    assert service["similarityThreshold"] is None
    settings = f"{models}/{service['id']}/settings"
    assert ok(b.put(settings, {"similarityThreshold": 0.5}))["similarityThreshold"] == 0.5
    assert ok(b.get(f"{models}/{service['id']}"))["similarityThreshold"] == 0.5
    changed = ok(b.put(settings, {"responseFormat": "seed"}))
    assert (changed["responseFormat"], changed["similarityThreshold"]) == ("seed", 0.5)
    clone = ok(b.post(f"{models}/{service['id']}", {"name": "door copy"}), 201)
    assert clone["similarityThreshold"] == 0.5
    for bad in (-0.1, 1.5, "high"):
        refused(b.put(settings, {"similarityThreshold": bad}), 400, 26)
    assert ok(b.put(settings, {"similarityThreshold": None}))["similarityThreshold"] is None
    listed = {
        s["name"]: s["similarityThreshold"] for s in ok(b.get(f"/admin/app/{app['id']}/models"))
    }
    assert listed == {"door": None, "door copy": 0.5}


def test_enrolment_quality_gate_of_a_service(browser: Callable[[], Browser]) -> None:
    """A facegate extension (decisions.md D24): off by default; `{}` turns it on with the
    measured defaults, a named limit replaces its default and null leaves it unchecked; kept by
    a clone, left alone by other settings, off again with null; bad limits refused."""
    b, _ = account(browser, "owner@example.com")
    app = ok(b.post("/admin/app", {"name": "Home"}), 201)
    models = f"/admin/app/{app['id']}/model"
    service = ok(b.post(models, {"name": "door", "type": "recognition"}), 201)
    assert service["enrolmentQuality"] is None
    settings = f"{models}/{service['id']}/settings"
    defaults = ok(b.put(settings, {"enrolmentQuality": {}}))["enrolmentQuality"]
    assert defaults == {
        "minEyeDistance": 14.0,
        "minSharpness": 15.0,
        "minBrightness": 0.07,
        "maxBrightness": 0.73,
        "maxYaw": None,
        "maxPitch": None,
        "minDetection": None,
    }
    chosen = {"minSharpness": 80, "maxYaw": 45, "minEyeDistance": None}
    changed = ok(b.put(settings, {"enrolmentQuality": chosen}))["enrolmentQuality"]
    assert changed == {**defaults, "minSharpness": 80.0, "maxYaw": 45.0, "minEyeDistance": None}
    assert ok(b.put(settings, {"similarityThreshold": 0.5}))["enrolmentQuality"] == changed
    clone = ok(b.post(f"{models}/{service['id']}", {"name": "door copy"}), 201)
    assert clone["enrolmentQuality"] == changed
    for bad in ({"minBrightness": 2}, {"maxYaw": -1}, {"minSharpness": "sharp"}, 1):
        refused(b.put(settings, {"enrolmentQuality": bad}), 400, 26)
    assert ok(b.put(settings, {"enrolmentQuality": None}))["enrolmentQuality"] is None
    listed = {s["name"]: s["enrolmentQuality"] for s in ok(b.get(f"/admin/app/{app['id']}/models"))}
    assert listed == {"door": None, "door copy": changed}


def test_keeping_unknown_faces_is_a_service_setting(browser: Callable[[], Browser]) -> None:
    """A facegate extension (decisions.md D26): off by default; on, kept by a clone, left alone
    when another setting changes; anything but true or false refused."""
    b, _ = account(browser, "owner@example.com")
    app = ok(b.post("/admin/app", {"name": "Home"}), 201)
    models = f"/admin/app/{app['id']}/model"
    service = ok(b.post(models, {"name": "door", "type": "recognition"}), 201)
    assert service["keepUnknownFaces"] is False
    settings = f"{models}/{service['id']}/settings"
    assert ok(b.put(settings, {"keepUnknownFaces": True}))["keepUnknownFaces"] is True
    changed = ok(b.put(settings, {"similarityThreshold": 0.5}))
    assert (changed["keepUnknownFaces"], changed["similarityThreshold"]) == (True, 0.5)
    assert ok(b.post(f"{models}/{service['id']}", {"name": "copy"}), 201)["keepUnknownFaces"]
    for bad in (None, "yes", 1):
        refused(b.put(settings, {"keepUnknownFaces": bad}), 400, 26)
    assert ok(b.put(settings, {"keepUnknownFaces": False}))["keepUnknownFaces"] is False
    assert ok(b.get(f"{models}/{service['id']}"))["keepUnknownFaces"] is False


def test_one_subject_per_photo_is_a_service_setting(browser: Callable[[], Browser]) -> None:
    """A facegate extension (decisions.md D67): off by default; on, kept by a clone; anything
    but true or false refused."""
    b, _ = account(browser, "owner@example.com")
    app = ok(b.post("/admin/app", {"name": "Home"}), 201)
    models = f"/admin/app/{app['id']}/model"
    service = ok(b.post(models, {"name": "door", "type": "recognition"}), 201)
    assert service["uniqueSubjects"] is False
    settings = f"{models}/{service['id']}/settings"
    assert ok(b.put(settings, {"uniqueSubjects": True}))["uniqueSubjects"] is True
    assert ok(b.put(settings, {"similarityThreshold": 0.5}))["uniqueSubjects"] is True
    assert ok(b.post(f"{models}/{service['id']}", {"name": "copy"}), 201)["uniqueSubjects"]
    for bad in (None, "yes", 1):
        refused(b.put(settings, {"uniqueSubjects": bad}), 400, 26)
    assert ok(b.put(settings, {"uniqueSubjects": False}))["uniqueSubjects"] is False


# --- the real application, as `facegate serve` runs it ------------------------------------------


@pytest.mark.slow
def test_served_app_from_sign_up_to_recognition(
    db_url: str, tmp_path: Path, manifest: list[dict[str, Any]], faces_dir: Path
) -> None:
    """`facegate serve` with the real models: an account creates a service in the UI's API, and
    its key works on /api/v1 at once; a regenerated key replaces it; the counts and the request
    statistics show on the dashboard."""
    with serving(db_url, tmp_path / "data") as base:
        b = Browser(base)
        ok(b.sign_up("owner@example.com"), 201)
        ok(b.login("owner@example.com"))
        app = ok(b.post("/admin/app", {"name": "Shop"}), 201)
        models = f"/admin/app/{app['id']}/model"
        service = ok(b.post(models, {"name": "door", "type": "recognition"}), 201)
        photo = next(item["file"] for item in manifest if item["faces"] == 1)
        image = (faces_dir / photo).read_bytes()
        api = httpx.Client(base_url=f"{base}/api/v1", timeout=120)
        key = {"x-api-key": service["apiKey"]}
        files = {"file": (photo, image, "image/jpeg")}
        added = api.post("/recognition/faces?subject=ann", headers=key, files=files)
        assert added.status_code == 201, added.text
        found = api.post("/recognition/recognize", headers=key, files=files)
        assert found.json()["result"][0]["subjects"][0]["subject"] == "ann", found.text
        shown = ok(b.get(f"{models}/{service['id']}"))
        assert (shown["subjectCount"], shown["imageCount"]) == (1, 1)
        assert (
            sum(day["requestCount"] for day in ok(b.get(f"{models}/{service['id']}/statistics")))
            >= 1
        )
        rekeyed = ok(b.put(f"{models}/{service['id']}/apikey"))
        stale = api.get("/recognition/subjects", headers=key)
        assert (stale.status_code, stale.json()["code"]) == (404, 10)
        fresh = api.get("/recognition/subjects", headers={"x-api-key": rekeyed["apiKey"]})
        assert fresh.json() == {"subjects": ["ann"]}
        api.close()
        b.close()


def test_every_admin_route_is_in_the_openapi_schema(base_url: str) -> None:
    schema = httpx.get(f"{base_url}/openapi.json").json()
    admin = {path for path in schema["paths"] if path.startswith("/admin/")}
    assert {
        "/admin/login",
        "/admin/user/register",
        "/admin/user/roles",
        "/admin/apps",
        "/admin/app/{app_id}/invite",
        "/admin/app/{app_id}/model/{service_id}/statistics",
    } <= admin
    me = schema["paths"]["/admin/user/me"]["get"]["responses"]["200"]["content"]
    assert me["application/json"]["schema"]["$ref"].endswith("/UserOut")
    assert "globalRole" in schema["components"]["schemas"]["UserOut"]["properties"]


def test_malformed_bodies_on_every_route_with_a_body(browser: Callable[[], Browser]) -> None:
    owner, owner_user = account(browser, "owner@example.com")
    app = ok(owner.post("/admin/app", {"name": "X"}), 201)
    models = f"/admin/app/{app['id']}/model"
    service = ok(owner.post(models, {"name": "s", "type": "detection"}), 201)
    routes = [
        ("POST", "/admin/login"),
        ("POST", "/admin/user/register"),
        ("PUT", "/admin/user/update"),
        ("PUT", "/admin/user/me/password"),
        ("POST", "/admin/user/forgot-password"),
        ("PUT", "/admin/user/reset-password?token=x"),
        ("POST", "/admin/user"),
        ("PUT", "/admin/user/global/role"),
        ("POST", "/admin/app"),
        ("PUT", f"/admin/app/{app['id']}"),
        ("POST", f"/admin/app/{app['id']}/invite"),
        ("PUT", f"/admin/app/{app['id']}/role"),
        ("POST", models),
        ("PUT", f"{models}/{service['id']}"),
        ("POST", f"{models}/{service['id']}"),
        ("PUT", f"{models}/{service['id']}/settings"),
    ]
    for method, path in routes:
        for body in ({}, [1], {"name": 5, "email": None, "role": "KING", "type": 3}):
            response = owner.request(method, path, body)
            assert response.status_code == 400, (method, path, body, response.text)
            assert response.json()["code"] == 26, (method, path, body, response.text)
        garbage = owner.request(
            method, path, content=b"\xff{", headers={"Content-Type": "application/json"}
        )
        assert garbage.status_code == 400 and garbage.json()["message"], (path, garbage.text)
    assert [each["name"] for each in ok(owner.get("/admin/apps"))] == ["X"]
    assert ok(owner.get(f"{models}/{service['id']}"))["name"] == "s"
    assert ok(owner.get("/admin/user/me")) == owner_user
