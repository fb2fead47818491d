"""The web UI: one HTML page, its ES modules and stylesheet, served from the package."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"

# Everything the page loads comes from this server; inline scripts and other origins are refused.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)

# Paths that links in emails and redirects point at; the page routes them itself.
PAGE_PATHS = ("/", "/login", "/sign-up", "/reset-password")


def index() -> FileResponse:
    """The single page; no-cache so a new release is picked up on the next visit."""
    return FileResponse(
        STATIC_DIR / "index.html",
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


def mount(app: FastAPI) -> None:
    """Serve the UI at `/` (and the page paths above) and its assets under `/ui/`.

    Only these exact paths are taken, so `/api/v1`, `/admin` and `/healthz` keep theirs
    whatever the order of registration.
    """
    for path in PAGE_PATHS:
        app.add_api_route(path, index, methods=["GET"], include_in_schema=False)
    app.mount("/ui", StaticFiles(directory=STATIC_DIR), name="ui")
