"""The "Gallery check" tab, "Not …" on the test page and the rejections on "Unknown faces", in
Debian's chromium on a live server with the real insightface-s engine (decisions.md D65 to D67)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from facegate import face_services
from tests.support.clients import PASSWORD, Api, ok, running_api
from tests.support.clients import Browser as AdminClient
from tests.support.pages import open_page

pytestmark = pytest.mark.browser

OWNER = "owner@example.com"


@pytest.fixture
def served(settings: Any, engines: Callable[[str], Any], faces_dir: Path) -> Iterator[Api]:
    # insightface-s takes Jolie for Kate Siegel at 1 in 1,000's threshold (D60); dlib no longer.
    with running_api(settings, engines("insightface-s"), faces_dir) as api:
        yield api


def _service(api: Api) -> tuple[str, dict[str, Any]]:
    admin = AdminClient(api.url)
    ok(admin.sign_up(OWNER), 201)
    ok(admin.login(OWNER))
    app = ok(admin.post("/admin/app", {"name": "Home"}), 201)
    service = ok(
        admin.post(f"/admin/app/{app['id']}/model", {"name": "Door", "type": "recognition"}), 201
    )
    admin.close()
    return app["id"], service


def _add(api: Api, key: str, subject: str, photo: str) -> None:
    files = {"file": (photo, api.photo(photo), "image/jpeg")}
    ok(
        api.client.post(
            "/api/v1/recognition/faces",
            params={"subject": subject},
            headers={"x-api-key": key},
            files=files,
        ),
        201,
    )


def _log_in(page: Page) -> None:
    page.goto("/#/login")
    page.get_by_label("Email").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Applications")).to_be_visible()


def test_the_gallery_check_and_this_is_not_x_in_the_browser(served: Api, browser: Browser) -> None:
    app_id, service = _service(served)
    for photo in ("fr_obama.jpg", "fr_obama2.jpg", "knn_test_obama1.jpg", "fr_biden.jpg"):
        _add(served, service["apiKey"], "obama", photo)
    _add(served, service["apiKey"], "Kate Siegel", "fp_kate_siegel.jpg")
    page, errors = open_page(browser, served.url)
    _log_in(page)
    page.goto(f"/#/app/{app_id}/service/{service['id']}")
    page.get_by_role("link", name="Gallery check").click()

    outliers = page.get_by_role("region", name="Outliers")
    expect(outliers.locator("tbody tr")).to_have_count(1)
    expect(outliers).to_contain_text("obama")
    outliers.get_by_role("button", name="Set aside").click()
    expect(page.get_by_text("Set aside: search leaves it out")).to_be_visible()
    aside = page.get_by_role("region", name="Set aside")
    expect(aside.locator("tbody tr")).to_have_count(1)
    expect(outliers.locator("tbody tr")).to_have_count(0)
    # The collection shows it kept, marked.
    page.goto(f"/#/app/{app_id}/service/{service['id']}/collection")
    page.get_by_role("list", name="Subjects").get_by_role("button", name="obama").click()
    expect(page.locator(".thumb img")).to_have_count(4)
    expect(page.locator(".thumb.aside .aside-mark")).to_have_text(["Set aside"])
    page.goto(f"/#/app/{app_id}/service/{service['id']}")
    page.get_by_role("link", name="Gallery check").click()
    aside = page.get_by_role("region", name="Set aside")
    aside.get_by_role("button", name="Restore").click()
    expect(page.get_by_role("region", name="Outliers").locator("tbody tr")).to_have_count(1)

    page.get_by_label("One subject per photo").check()
    expect(page.locator(".toast", has_text="One subject per photo")).to_be_visible()
    with served.session() as s:
        [door] = face_services.services_named(s, name="Door", type="recognition", app_name=None)
        assert door.unique_subjects

    # insightface-s takes Angelina Jolie for Kate Siegel; "Not Kate Siegel" ends it.
    page.get_by_role("link", name="Test").click()
    page.get_by_label("Photo", exact=True).set_input_files(served.faces / "fp_angelina_jolie.jpg")
    expect(page.locator(".face-box .face-label")).to_have_text([re.compile("^Kate Siegel ")])
    page.get_by_role("button", name="Not Kate Siegel").click()
    expect(page.get_by_text("Recorded: this face is not Kate Siegel")).to_be_visible()
    expect(page.locator(".face-box .face-label")).to_have_text(["Unknown"])

    page.get_by_role("link", name="Unknown faces").click()
    rejections = page.get_by_role("region", name="Rejections")
    expect(rejections.locator("tbody tr")).to_have_count(1)
    expect(rejections).to_contain_text("Kate Siegel")
    rejections.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Kate Siegel is answered again for that face")).to_be_visible()
    expect(rejections.get_by_text("No rejections")).to_be_visible()
    assert errors == []
