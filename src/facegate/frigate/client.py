"""Frigate's HTTP API, the two calls the companion makes: an event's snapshot, and its
sub-label (Frigate's `GET /api/events/<id>/snapshot.jpg`, `POST /api/events/<id>/sub_label`)."""

from __future__ import annotations

import http.client
import json
import urllib.request
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode

# Frigate's own limit on a sub-label (EventsSubLabelBody: max_length 100).
MAX_SUB_LABEL = 100


class FrigateUnreachable(Exception):
    """Frigate did not answer, or answered what facegate cannot use: the reason, for health."""


class FrigateClient:
    """Calls to one Frigate server at `url` (its API on port 5000, or 8971 behind a login
    facegate does not do), without any proxy of the environment: Frigate is on the local
    network."""

    def __init__(
        self, url: str, *, timeout: float, snapshot_height: int | None, crop: bool
    ) -> None:
        self.url = url.rstrip("/")
        self._timeout = timeout
        # No timestamp or box drawn on the picture; cropped to the person when asked.
        query: dict[str, int] = {"bbox": 0, "timestamp": 0, "crop": int(crop)}
        if snapshot_height is not None:
            query["height"] = snapshot_height
        self._snapshot_query = urlencode(query)
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def snapshot(self, event_id: str) -> bytes | None:
        """The event's current best snapshot (JPEG); None when Frigate has none (404)."""
        path = f"/api/events/{quote(event_id, safe='')}/snapshot.jpg?{self._snapshot_query}"
        status, body = self._call(urllib.request.Request(self.url + path))
        if status == 404:
            return None
        return body

    def set_sub_label(self, event_id: str, name: str, score: float) -> None:
        """Write `name` as the event's sub-label, with `score` (0 < score <= 1)."""
        body = {
            "subLabel": name[:MAX_SUB_LABEL],
            "subLabelScore": round(min(max(score, 1e-5), 1.0), 5),
        }
        request = urllib.request.Request(
            f"{self.url}/api/events/{quote(event_id, safe='')}/sub_label",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        status, _ = self._call(request)
        if status == 404:
            raise FrigateUnreachable(f"Frigate does not know event {event_id}")

    def _call(self, request: urllib.request.Request) -> tuple[int, bytes]:
        request.add_header("User-Agent", "facegate")
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return response.status, response.read()
        except HTTPError as error:
            if error.code == 404:
                return 404, b""
            raise FrigateUnreachable(
                f"{request.full_url}: HTTP {error.code} {error.reason}"
            ) from None
        except (URLError, OSError, http.client.HTTPException, ValueError) as error:
            reason = error.reason if isinstance(error, URLError) else error
            raise FrigateUnreachable(f"{self.url}: {reason or error.__class__.__name__}") from None
