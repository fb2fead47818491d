"""A burst of recognitions from a process of its own, so that the clients' threads never
compete with the test (or the server) for a GIL: `python -m tests.support.burst URL KEY PHOTO N`
prints one JSON list of [status, Retry-After or null], one per request."""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx


def main(url: str, key: str, photo: Path, count: int) -> None:
    data = photo.read_bytes()
    start = threading.Barrier(count)
    with httpx.Client(base_url=url, timeout=120, limits=httpx.Limits(max_connections=count)) as c:

        def one(_: int) -> list[object]:
            start.wait()  # every request leaves at once
            answer = c.post(
                "/api/v1/recognition/recognize",
                headers={"x-api-key": key},
                files={"file": (photo.name, data, "image/jpeg")},
            )
            return [answer.status_code, answer.headers.get("retry-after")]

        with ThreadPoolExecutor(count) as pool:
            print(json.dumps(list(pool.map(one, range(count)))))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))
