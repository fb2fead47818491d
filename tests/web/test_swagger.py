"""Swagger UI in Debian's chromium with every request to another host refused: the page loads,
takes a recognition service's key in "Authorize", and runs a recognition with "Try it out"
(issue 10), on a live server with the real engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.support.clients import Api, running_api

pytestmark = pytest.mark.browser

RECOGNIZE = "#operations-recognition-recognize_api_v1_recognition_recognize_post"


# One database is enough here: what is tested is the page, not the storage.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_recognize_from_the_swagger_page_offline(
    settings: Any, face_engine: Any, faces_dir: Path, browser: Browser
) -> None:
    with running_api(settings, face_engine, faces_dir) as api:
        assert api.add("obama", "fr_obama_small.jpg").status_code == 201
        _recognize_in_swagger_ui(api, browser, faces_dir / "fr_obama2.jpg")


def _recognize_in_swagger_ui(api: Api, browser: Browser, photo: Path) -> None:
    page = browser.new_context(base_url=api.url).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    elsewhere: list[str] = []
    local = urlsplit(api.url).netloc

    def only_this_server(route: Route) -> None:
        if urlsplit(route.request.url).netloc == local:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    # Reached from the web UI's top bar, as a user finds it (and /docs leads there too).
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API").click()
    expect(page).to_have_url(f"{api.url}/swagger-ui.html")
    expect(page.locator(RECOGNIZE)).to_be_visible()
    assert str(api.client.get("/docs", follow_redirects=True).url).endswith("/swagger-ui.html")

    # Authorize: the recognition key in its own scheme's field.
    page.locator("button.authorize").first.click()
    scheme = page.locator(".auth-container").filter(has_text="recognition_key")
    scheme.locator("input").fill(api.keys["recognition"])
    scheme.locator("button.authorize").click()
    expect(scheme.get_by_role("heading", name="Authorized")).to_be_visible()
    scheme.locator("button.btn-done").click()

    # Try it out on POST /recognize with a photo, and execute.
    operation = page.locator(RECOGNIZE)
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("input[type=file]").set_input_files(str(photo))
    operation.locator("button.execute").click()

    live = operation.locator(".live-responses-table")
    expect(live.locator("tbody .response-col_status")).to_have_text("200")
    body = json.loads(live.locator("tbody .highlight-code pre").first.inner_text())
    assert body["result"][0]["subjects"][0]["subject"] == "obama", body
    assert elsewhere == [], "the page asked another host"
    assert errors == []
