"""Pages of the web UI in chromium, shared by the browser tests: a page that collects its
script errors, and the admin API called with the page's own session."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page

USER = {"first": "Ada", "last": "Lovelace", "email": "ada@example.org", "password": "analytical-9"}


def open_page(browser: Browser, url: str, **context: object) -> tuple[Page, list[str]]:
    """A page in a fresh context, and the script errors it reports."""
    page = browser.new_context(base_url=url, **context).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Refused requests (401 before login, a refused upload) are logged as "Failed to load
    # resource"; they are part of the flow. Any other console error is a bug in the page.
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    return page, errors


def csrf(page: Page) -> str:
    """The page's CSRF cookie (asked for first when it has none), to echo as the UI does."""
    if not any(c["name"] == "facegate_csrf" for c in page.context.cookies()):
        page.request.get("/admin/config")
    return next(c["value"] for c in page.context.cookies() if c["name"] == "facegate_csrf")


def admin_call(page: Page, method: str, path: str, body: object = None) -> Any:
    """Call the admin API with the page's cookies and CSRF token."""
    answer = page.request.fetch(
        f"/admin{path}", method=method, data=body, headers={"X-CSRF-Token": csrf(page)}
    )
    assert answer.ok, f"{method} {path}: {answer.status} {answer.text()}"
    return answer.json() if answer.text() else None
