"""A webhook receiver for the tests: a small HTTP server in a thread that records every POST,
and answers 500 to the first `failures` of them (a receiver that is up but broken); the event
settings that keep tests short, and a bounded wait for what the delivery worker does."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Settings of a server under test: deliveries polled and retried within a second.
FAST = {
    "events_poll_seconds": 0.1,
    "events_retry_initial_seconds": 0.1,
    "events_retry_max_seconds": 0.5,
    "events_max_attempts": 1000,
}


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll until `condition` holds; the bound is only against a hang, never a speed target."""
    deadline = time.monotonic() + 120
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.1)


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.body)
        return event


class Receiver:
    """Listening on 127.0.0.1:`port` from `__enter__` to `__exit__`; `received` holds what
    was answered 2xx, in arrival order, and `refused` counts the 500s."""

    def __init__(self, port: int, *, failures: int = 0) -> None:
        self.received: list[Received] = []
        self.refused = 0
        self._failures = failures
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    failing = receiver.refused < receiver._failures
                    if failing:
                        receiver.refused += 1
                    else:
                        receiver.received.append(Received(dict(self.headers.items()), body))
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
