"""What events cost: the outbox insert a write or recognition pays, and how fast one worker
delivers a backlog to a local webhook. Prints a table.

Usage: python benchmarks/events.py [--database-url postgresql://...] [--events 2000]
(default: a SQLite file in a temporary directory).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import func, select

from facegate import face_services
from facegate.config import Settings
from facegate.db.session import create_db_engine, session_factory, upgrade
from facegate.db.tables import Delivery
from facegate.events import hooks, outbox
from facegate.events.worker import DeliveryWorker


class _Accept(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), database_url=args.database_url, events_poll_seconds=0.05
        )
        upgrade(settings)
        engine = create_db_engine(settings)
        sessions = session_factory(engine)
        receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        with sessions() as s, s.begin():
            app = face_services.create_application(s, name=f"bench {time.time()}")
            quiet = face_services.create_service(s, app=app, name="quiet", type="recognition")
            hooked = face_services.create_service(s, app=app, name="hooked", type="recognition")
            url = f"http://127.0.0.1:{receiver.server_address[1]}/"
            hooks.add(s, service=hooked, url=url, event_types=[], enabled=True)
        event = (outbox.FACE_RECOGNIZED, {"subject": "x", "similarity": 0.9, "box": {}})
        print(f"{engine.dialect.name}, {args.events} events, one per transaction")
        print("| case | per event |\n|---|---|")
        for name, service in (("no sink (one SELECT)", quiet), ("one webhook", hooked)):
            start = time.perf_counter()
            for _ in range(args.events):
                with sessions() as s, s.begin():
                    outbox.publish(s, service=service, events=[event])
            per = (time.perf_counter() - start) / args.events
            print(f"| publish, {name} | {per * 1000:.2f} ms |")
        worker = DeliveryWorker(sessions, settings)
        start = time.perf_counter()
        worker.start()

        def pending() -> int:
            with sessions() as s:
                return int(s.scalar(select(func.count()).where(Delivery.state == "pending")) or 0)

        while pending():
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        worker.stop()
        print(
            f"| delivery to a local webhook, one lane | {elapsed / args.events * 1000:.2f} ms "
            f"({args.events / elapsed:.0f} events/s) |"
        )
        receiver.shutdown()
        engine.dispose()


if __name__ == "__main__":
    main()
