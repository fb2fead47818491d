"""The service dashboard's events section in Debian's chromium, on a live server with the real
engine and both databases: a webhook added (its secret shown once), its deliveries seen, one
to a receiver that is down shown waiting with its error, MQTT switched on, a webhook deleted."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from facegate import face_services
from facegate.db.tables import Delivery
from tests.support.clients import Api, running_api
from tests.support.pages import USER, admin_call, open_page
from tests.support.receiver import FAST, Receiver, wait_for
from tests.support.servers import free_port

pytestmark = pytest.mark.browser


def _failed_once(api: Api) -> bool:
    with api.session() as s:
        return s.scalar(select(Delivery.id).where(Delivery.error.is_not(None))) is not None


def test_webhooks_on_the_service_dashboard(
    make_settings: Any, face_engine: Any, faces_dir: Path, browser: Browser
) -> None:
    up, down = free_port(), free_port()
    with (
        running_api(make_settings(**FAST), face_engine, faces_dir) as api,
        Receiver(up) as receiver,
    ):
        with api.session() as s:
            app_id = face_services.default_application(s).guid
            service_id = api.service(s).guid
        page, errors = open_page(browser, api.url)
        credentials = {"email": USER["email"], "password": USER["password"]}
        names = {"firstName": USER["first"], "lastName": USER["last"]}
        admin_call(page, "POST", "/user/register", credentials | names)
        admin_call(page, "POST", "/login", credentials)
        page.goto(f"/#/app/{app_id}/service/{service_id}")
        section = page.locator("section.events")
        expect(section.get_by_role("heading", name="Events")).to_be_visible()
        expect(section.get_by_text("No webhook yet.")).to_be_visible()

        section.get_by_label("Webhook URL").fill(f"http://127.0.0.1:{up}/events")
        section.get_by_role("button", name="Add webhook").click()
        expect(section.locator(".webhook-secret code")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
        expect(section.get_by_role("cell", name=f"http://127.0.0.1:{up}/events")).to_be_visible()

        assert api.add("obama", "fr_obama.jpg").status_code == 201
        assert api.recognize("fr_obama2.jpg").status_code == 200
        wait_for(lambda: len(receiver.received) == 3, "three events")
        section.get_by_role("button", name="Refresh").click()
        recognized = section.locator("tr", has_text="face.recognized")
        expect(recognized).to_contain_text("delivered")
        expect(recognized.get_by_role("cell", name="204")).to_be_visible()

        # A receiver that is down: its delivery waits, with the error and the next attempt.
        section.get_by_label("Webhook URL").fill(f"http://127.0.0.1:{down}/")
        section.get_by_label("Event types (empty: all)").fill("subject.added")
        section.get_by_role("button", name="Add webhook").click()
        # The webhooks' table, not the deliveries' (the first hook's subject.added is there too).
        hooks = section.locator(".webhooks")
        expect(hooks.get_by_role("cell", name="subject.added", exact=True)).to_be_visible()
        assert api.add("biden", "fr_biden.jpg").status_code == 201
        wait_for(lambda: _failed_once(api), "a failed attempt")
        section.get_by_role("button", name="Refresh").click()
        waiting = section.locator(".deliveries tr", has_text=f"127.0.0.1:{down}")
        expect(waiting).to_contain_text("pending")
        expect(waiting).to_contain_text("refused")

        section.get_by_label("Publish events to MQTT").check()
        expect(page.get_by_text("Events go to MQTT")).to_be_visible()
        page.reload()
        expect(
            page.locator("section.events").get_by_label("Publish events to MQTT")
        ).to_be_checked()
        # This server has no broker, and one webhook's receiver is down: both shown on the
        # dashboard, not left to wait unseen (docs/decisions.md D57).
        problems = page.locator("section.sink-problems")
        expect(problems.get_by_role("heading")).to_have_text("Events are not being delivered")
        expect(problems).to_contain_text("FACEGATE_MQTT_URL is not set")
        expect(problems).to_contain_text("1 webhook failed to take 1 delivery")

        section = page.locator("section.events")
        hook_row = section.locator(".webhooks tr", has_text=f"127.0.0.1:{down}")
        hook_row.get_by_role("button", name="Switch off").click()
        expect(hook_row.get_by_role("cell", name="off", exact=True)).to_be_visible()
        hook_row.get_by_role("button", name="Delete").click()
        page.locator("dialog").get_by_role("button", name="Delete").click()
        expect(section.locator(".webhooks tr", has_text=f"127.0.0.1:{down}")).to_have_count(0)
        expect(section.locator(".deliveries tr", has_text=f"127.0.0.1:{down}")).to_have_count(0)
        assert errors == []
