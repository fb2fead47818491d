"""The audit page in Debian's chromium, on a live server (fake engine) and both databases: an
owner reads the trail, filters it and finds its export links; a user has no such page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.support.pages import USER, admin_call, open_page
from tests.support.servers import serve

pytestmark = pytest.mark.browser


def test_the_audit_page(make_settings: Callable[..., Any], browser: Browser) -> None:
    with serve(make_settings()) as url:
        page, errors = open_page(browser, url)
        credentials = {"email": USER["email"], "password": USER["password"]}
        names = {"firstName": USER["first"], "lastName": USER["last"]}
        admin_call(page, "POST", "/user/register", credentials | names)
        wrong = page.request.post(
            "/admin/login",
            data=credentials | {"password": "not the password"},
            headers={
                "X-CSRF-Token": next(
                    c["value"] for c in page.context.cookies() if c["name"] == "facegate_csrf"
                )
            },
        )
        assert wrong.status == 400
        admin_call(page, "POST", "/login", credentials)
        member = {"email": "bob@example.org", "password": "a long password", "role": "USER"}
        admin_call(page, "POST", "/user", member | {"firstName": "Bob", "lastName": "B"})
        page.goto("/")
        # The first page finished drawing, so it cannot draw over the next one.
        expect(page.get_by_role("heading", name="Applications")).to_be_visible()
        page.get_by_role("link", name="Audit").click()
        expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
        trail = page.locator("section.audit")
        expect(trail.locator("tr", has_text="login.failed")).to_contain_text("anonymous")
        expect(trail.locator("tr", has_text="user.created")).to_contain_text(USER["email"])
        expect(trail.get_by_text("(4 entries)")).to_be_visible()
        page.get_by_label("Filter by action").fill("login")
        page.get_by_label("Filter by action").press("Enter")
        expect(trail.get_by_text("(2 entries)")).to_be_visible()
        csv = trail.get_by_role("link", name="CSV")
        expect(csv).to_have_attribute("href", "/admin/audit/export?format=csv&action=login")
        assert page.request.get(csv.get_attribute("href") or "").text().startswith("id,time,")
        expect(page.get_by_text("No e-mail sent yet.")).to_be_visible()
        assert errors == []

        bob, bob_errors = open_page(browser, url)
        admin_call(
            bob, "POST", "/login", {"email": member["email"], "password": member["password"]}
        )
        bob.goto("/")
        expect(bob.get_by_role("link", name="Applications")).to_be_visible()
        expect(bob.get_by_role("link", name="Audit")).to_have_count(0)
        # As above: the first page has finished drawing before the next is asked for.
        expect(bob.get_by_text("No applications yet.")).to_be_visible()
        bob.goto("/#/audit")
        expect(bob.get_by_text("Only global owners and administrators")).to_be_visible()
        assert bob_errors == []
