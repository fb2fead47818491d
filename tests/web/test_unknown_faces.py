"""The "Unknown faces" tab and the test page's "Unknown" in Debian's chromium, on a live
server with the real engine, on both databases (decisions.md D26)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.clients import PASSWORD, Api, ok, running_api
from tests.support.clients import Browser as AdminClient
from tests.support.pages import open_page

pytestmark = pytest.mark.browser

OWNER = "owner@example.com"


@pytest.fixture
def served(settings: Any, face_engine: Any, faces_dir: Path) -> Iterator[Api]:
    with running_api(settings, face_engine, faces_dir) as api:
        yield api


def _service(api: Api) -> tuple[AdminClient, str, dict[str, Any]]:
    """The owner's account, an application and a recognition service, through the admin API."""
    admin = AdminClient(api.url)
    ok(admin.sign_up(OWNER), 201)
    ok(admin.login(OWNER))
    app = ok(admin.post("/admin/app", {"name": "Home"}), 201)
    service = ok(
        admin.post(f"/admin/app/{app['id']}/model", {"name": "Door", "type": "recognition"}), 201
    )
    return admin, app["id"], service


def _log_in(page: Page) -> None:
    page.goto("/#/login")
    page.get_by_label("Email").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Applications")).to_be_visible()


def _recognize(api: Api, key: str, photo: str) -> None:
    files = {"file": (photo, api.photo(photo), "image/jpeg")}
    headers = {"x-api-key": key}
    ok(api.client.post("/api/v1/recognition/recognize", headers=headers, files=files))


def test_unknown_faces_are_named_in_the_tab(served: Api, browser: Browser) -> None:
    admin, app_id, service = _service(served)
    page, errors = open_page(browser, served.url)
    _log_in(page)
    page.goto(f"/#/app/{app_id}/service/{service['id']}/unknown")
    expect(page.get_by_text("Nothing is kept")).to_be_visible()
    page.get_by_label("Keep unknown faces").check()
    expect(page.get_by_text("Unknown faces are kept")).to_be_visible()
    expect(page.get_by_text("No unknown faces yet")).to_be_visible()

    for photo in ("fr_obama.jpg", "fr_obama2.jpg", "knn_test_obama1.jpg", "fr_biden.jpg"):
        _recognize(served, service["apiKey"], photo)
    page.reload()
    groups = page.locator("section.cluster")
    expect(groups).to_have_count(2)
    three = groups.filter(has_text="3 face(s)")
    expect(three.locator(".face-strip img")).to_have_count(3)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.face-strip img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    three.get_by_placeholder("Who is this?").fill("obama")
    three.get_by_role("button", name="Name").click()
    expect(page.get_by_text("3 face(s) added to obama")).to_be_visible()
    expect(groups).to_have_count(1)

    page.get_by_role("button", name="Dismiss").click()
    page.get_by_role("dialog").get_by_role("button", name="Dismiss").click()
    expect(page.get_by_text("No unknown faces yet")).to_be_visible()

    page.get_by_role("link", name="Face collection").click()
    subjects = page.get_by_role("list", name="Subjects")
    expect(subjects.get_by_role("button")).to_have_text(["obama"])

    # The test page: Obama is recognised now; a stranger under the service's threshold comes
    # back with no subjects, and reads "Unknown" on the box and in the table.
    ok(
        admin.put(
            f"/admin/app/{app_id}/model/{service['id']}/settings", {"similarityThreshold": 0.5}
        )
    )
    page.get_by_role("link", name="Test").click()
    page.get_by_label("Photo", exact=True).set_input_files(served.faces / "fr_obama-1080p.jpg")
    expect(page.locator(".face-box .face-label")).to_have_text([re.compile("^obama ")])
    page.get_by_label("Photo", exact=True).set_input_files(
        served.faces / "knn_train_kit_harington_john1.jpeg"
    )
    expect(page.locator(".face-box.unknown .face-label")).to_have_text(["Unknown"])
    expect(page.locator("table").last).to_contain_text("Unknown")
    admin.close()
    assert errors == []
