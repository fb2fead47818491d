"""`facegate import --url --key`: enrolling through any server that speaks CompreFace's REST API
(CompreFace itself included), with a local journal of the photos it enrolled.

Such a server cannot be asked which photos it holds, so the journal records the SHA-256 of every
photo it acknowledged, one JSON line each, written through before the photo counts as enrolled:
a re-run skips them, and a crash loses at most the answer of a photo in flight.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

import httpx

from facegate.collection.enrol import PhotoFile
from facegate.errors import FacegateError

FACES = "/api/v1/recognition/faces"
RETRIES = 5  # answers 503 (the server's queue is full) waited out before a photo is refused


def default_journal(source: Path, url: str, key: str) -> Path:
    """A hidden file beside the photos (or the CSV), one per server and key (service)."""
    folder = source if source.is_dir() else source.parent
    target = hashlib.sha256(f"{url.rstrip('/')}\n{key}".encode()).hexdigest()[:12]
    return folder / f".facegate-import-{target}.jsonl"


class RemoteTarget:
    """A recognition service of a remote server, known by its URL and API key."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        key: str,
        journal: Path,
        det_prob_threshold: float | None = None,
    ) -> None:
        """`client`: an httpx client whose base URL is the server's."""
        self._client = client
        self._key = key
        self._journal = journal
        self._det_prob_threshold = det_prob_threshold
        self._lock = threading.Lock()

    def enrolled_hashes(self) -> set[str]:
        if not self._journal.exists():
            return set()
        known = set()
        for line in self._journal.read_text(encoding="utf-8").splitlines():
            try:
                known.add(json.loads(line)["sha256"])
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash: that photo is sent again
        return known

    def enrol(self, photo: PhotoFile, data: bytes, digest: str) -> str:
        params: dict[str, str | float] = {"subject": photo.subject}
        if self._det_prob_threshold is not None:
            params["det_prob_threshold"] = self._det_prob_threshold
        for attempt in range(RETRIES + 1):
            answer = self._client.post(
                FACES,
                params=params,
                headers={"x-api-key": self._key},
                files={"file": (photo.path.name, data, "application/octet-stream")},
            )
            if answer.status_code != 503 or attempt == RETRIES:
                break
            time.sleep(float(answer.headers.get("Retry-After", "1")))
        if answer.status_code != 201:
            raise _refusal(answer)
        image_id = str(answer.json()["image_id"])
        self._record({"sha256": digest, "file": str(photo.path), "image_id": image_id})
        return image_id

    def _record(self, entry: dict[str, str]) -> None:
        with self._lock, self._journal.open("a", encoding="utf-8") as journal:
            journal.write(json.dumps(entry) + "\n")
            journal.flush()
            os.fsync(journal.fileno())


def _refusal(answer: httpx.Response) -> FacegateError:
    """The server's `{"message", "code"}` as an error with its status, whatever the server."""
    try:
        body = answer.json()
        message, code = str(body["message"]), int(body.get("code", 0))
    except (ValueError, KeyError, TypeError):
        message, code = f"HTTP {answer.status_code}: {answer.text[:200]}", 0
    return FacegateError(message, status=answer.status_code, code=code)
