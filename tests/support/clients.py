"""Clients of a test server: the face API with a service of each type (`Api`), and what the web
page does against the admin API (`Browser`), with the checks their tests share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy.orm import Session

from facegate import face_services
from facegate.app import create_app
from facegate.config import Settings
from facegate.db.tables import Service
from tests.support.servers import LiveServer, create_service, database, in_process

SUBJECTS = "/api/v1/recognition/subjects"
CSRF_COOKIE = "facegate_csrf"
SESSION_COOKIE = "facegate_session"
PASSWORD = "correct horse battery"


@dataclass
class Api:
    """A server with a recognition, a detection and a verification service, and a client of it:
    a live uvicorn server (`running_api`) or the app in-process (`in_process_api`)."""

    settings: Settings
    keys: dict[str, str]
    faces: Path
    engine: Any  # the FaceEngine (or tests.support.fake_engine.FakeEngine) the server runs
    client: httpx.Client
    app: Any = None  # the ASGI app the server runs (its state: app.state.inference...)

    @property
    def url(self) -> str:
        return str(self.client.base_url).rstrip("/")

    def headers(self, kind: str = "recognition") -> dict[str, str]:
        return {"x-api-key": self.keys[kind]}

    def photo(self, name: str) -> bytes:
        return (self.faces / name).read_bytes()

    def request(
        self, method: str, path: str, kind: str = "recognition", **kw: Any
    ) -> httpx.Response:
        headers = self.headers(kind) | kw.pop("headers", {})
        return self.client.request(method, path, headers=headers, **kw)

    def add(self, subject: str, photo: str, **params: Any) -> httpx.Response:
        """POST /recognition/faces with a multipart photo."""
        return self.request(
            "POST",
            "/api/v1/recognition/faces",
            params={"subject": subject, **params},
            files={"file": (photo, self.photo(photo), "image/jpeg")},
        )

    def recognize(self, photo: str, **params: Any) -> httpx.Response:
        return self.request(
            "POST",
            "/api/v1/recognition/recognize",
            params=params,
            files={"file": (photo, self.photo(photo), "image/jpeg")},
        )

    def verify(self, source: str, target: str, **params: Any) -> httpx.Response:
        """POST /verification/verify with two multipart photos."""
        return self.request(
            "POST",
            "/api/v1/verification/verify",
            "verification",
            params=params,
            files={
                "source_image": (source, self.photo(source), "image/jpeg"),
                "target_image": (target, self.photo(target), "image/jpeg"),
            },
        )

    def migrate(self) -> httpx.Response:
        """POST /api/v1/migrate as a script does it: with the settings' admin key."""
        assert self.settings.admin_key is not None
        return self.client.post("/api/v1/migrate", headers={"x-admin-key": self.settings.admin_key})

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the server's database, from the test's side, in a transaction."""
        with database(self.settings) as sessions, sessions() as s, s.begin():
            yield s

    def service(self, s: Session, kind: str = "recognition") -> Service:
        """This API's service of `kind`, in a session of the test's own."""
        service = face_services.service_by_key(s, api_key=self.keys[kind], type=kind)
        assert service is not None
        return service

    def subjects(self) -> list[str]:
        response = self.request("GET", "/api/v1/recognition/subjects")
        assert response.status_code == 200, response.text
        names: list[str] = response.json()["subjects"]
        return names

    def snapshot(self) -> tuple[list[str], list[dict[str, str]]]:
        """The stored subjects and examples, in a stable order, to compare before and after."""
        return sorted(self.subjects()), sorted(self.examples(), key=lambda f: f["image_id"])

    def examples(self) -> list[dict[str, str]]:
        response = self.request("GET", "/api/v1/recognition/faces", params={"size": 2000})
        assert response.status_code == 200, response.text
        faces: list[dict[str, str]] = response.json()["faces"]
        return faces


def subject_path(name: str) -> str:
    """The URL path of one subject, its name percent-encoded whole (`/` too)."""
    return f"{SUBJECTS}/{quote(name, safe='')}"


@contextmanager
def running_api(
    settings: Settings, engine: Any, faces_dir: Path, keys: dict[str, str] | None = None
) -> Iterator[Api]:
    """A server for `settings`: with one new service of each type, or the services of `keys`
    (a server started again on the same database)."""
    app = create_app(settings, engine=engine)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=120) as client:
        yield Api(settings, keys or _new_services(settings), faces_dir, engine, client, app)


@contextmanager
def in_process_api(settings: Settings, engine: Any, faces_dir: Path) -> Iterator[Api]:
    """The app of `settings` in-process (`servers.in_process`), with one new service of each
    type: no socket, no uvicorn, for the fast tests."""
    app = create_app(settings, engine=engine)
    with in_process(app) as client:
        yield Api(settings, _new_services(settings), faces_dir, engine, client, app)


def _new_services(settings: Settings) -> dict[str, str]:
    """One new service of each type; their API keys by type."""
    return {kind: create_service(settings, kind) for kind in face_services.SERVICE_TYPES}


class Browser:
    """What the web page does: keeps cookies, echoes the CSRF cookie in X-CSRF-Token on writes."""

    def __init__(self, base_url: str, **client: Any) -> None:
        """`client`: more of httpx.Client's options (a transport from another address...)."""
        self.url = base_url
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=60, **client)
        self.get("/admin/config")

    def close(self) -> None:
        self.http.close()

    @property
    def session_id(self) -> str | None:
        return self.http.cookies.get(SESSION_COOKIE)

    def request(self, method: str, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if method != "GET" and CSRF_COOKIE in self.http.cookies:
            headers.setdefault("X-CSRF-Token", self.http.cookies[CSRF_COOKIE])
        return self.http.request(method, path, json=json, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def sign_up(self, email: str, first: str = "Ann", last: str = "Lee") -> httpx.Response:
        body = {"email": email, "password": PASSWORD, "firstName": first, "lastName": last}
        return self.post("/admin/user/register", body)

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return self.post("/admin/login", {"email": email, "password": password})


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of an expected success, with the body in the failure message otherwise."""
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else None


def refused(response: httpx.Response, status: int, code: int) -> str:
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code), (response.status_code, body)
    message: str = body["message"]
    return message
