"""The Frigate companion on the service's dashboard, in Debian's chromium: its links shown, an
unreachable Frigate marked, a service's Frigate cameras chosen (docs/frigate.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from facegate import face_services
from facegate.config import Settings
from tests.support.frigate import companion, frigate_health
from tests.support.pages import USER, admin_call, open_page
from tests.support.receiver import wait_for

pytestmark = pytest.mark.browser


def test_an_unreachable_frigate_is_marked_on_the_dashboard(
    make_settings: Callable[..., Settings], face_engine: Any, faces_dir: Path, browser: Browser
) -> None:
    with companion(make_settings, face_engine, faces_dir) as (api, frigate, _):
        frigate.__exit__()  # Frigate's API goes away
        frigate.replay("6.0-away", [(faces_dir / "fr_obama2.jpg").read_bytes()], wait=False)
        wait_for(lambda: frigate_health(api)["api"].startswith("unreachable"), "the failure")
        with api.session() as s:
            app_id = face_services.default_application(s).guid
            service_id = api.service(s).guid
            detection_id = api.service(s, "detection").guid
        page, errors = open_page(browser, api.url)
        credentials = {"email": USER["email"], "password": USER["password"]}
        names = {"firstName": USER["first"], "lastName": USER["last"]}
        admin_call(page, "POST", "/user/register", credentials | names)
        admin_call(page, "POST", "/login", credentials)
        other = admin_call(page, "GET", f"/app/{app_id}/model/{detection_id}/frigate")
        assert other["configured"] is False

        page.goto(f"/#/app/{app_id}/service/{service_id}")
        section = page.locator("section.events")
        expect(section.get_by_role("heading", name="Frigate")).to_be_visible()
        status = section.locator(".frigate-status")
        expect(status.locator("li", has_text="MQTT broker: connected")).not_to_have_class("error")
        failing = status.locator("li.error")
        expect(failing).to_have_count(1)
        expect(failing).to_contain_text(f"Frigate's API ({frigate.url}): unreachable")
        expect(section.get_by_text("Takes the person events of every camera")).to_be_visible()

        # Another recognition service chooses its cameras on its dashboard.
        garden = admin_call(
            page, "POST", f"/app/{app_id}/model", {"name": "garden", "type": "recognition"}
        )
        page.goto(f"/#/app/{app_id}/service/{garden['id']}")
        section = page.locator("section.events")
        section.get_by_label("Recognise Frigate's person events").check()
        section.get_by_label("Frigate cameras (empty: every camera)").fill("garden, driveway")
        section.get_by_role("button", name="Save Frigate cameras").click()
        expect(page.get_by_text("Saved")).to_be_visible()
        saved = admin_call(page, "GET", f"/app/{app_id}/model/{garden['id']}")
        assert saved["frigateCameras"] == "garden,driveway"
        expect(section.locator(".frigate-status")).to_be_visible()
        assert errors == []
