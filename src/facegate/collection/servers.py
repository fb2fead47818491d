"""Running servers and their models: each server process says so while it runs, so that
retiring a model's embeddings (`facegate models retire`) never blinds one that still uses them,
and keeps, for /healthz, how many examples each model has embedded (decisions.md D29)."""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from facegate.collection import reads
from facegate.collection.flags import holder_died
from facegate.db.leases import holder
from facegate.db.tables import RunningServer, new_uuid, utcnow

log = logging.getLogger(__name__)

# A server refreshes its row this often; one silent for STALE_AFTER stopped without saying so.
REFRESH_SECONDS = 60
COVERAGE_SECONDS = 5
STALE_AFTER = timedelta(seconds=3 * REFRESH_SECONDS)


@dataclass(frozen=True)
class Server:
    process: str
    calculator: str
    model: str
    seen_at: datetime


def running(s: Session) -> list[Server]:
    """The servers that said they run within STALE_AFTER (and did not die on this host)."""
    rows = s.scalars(
        select(RunningServer).where(RunningServer.seen_at > utcnow() - STALE_AFTER)
    ).all()
    return [
        Server(row.process, row.calculator, row.model, row.seen_at)
        for row in rows
        if not holder_died(row.process)
    ]


class Presence:
    """This process's row, written at start, refreshed by a thread, deleted at stop; and the
    examples' coverage by model, counted at most every COVERAGE_SECONDS (a count over every
    example: not for each probe of /healthz)."""

    def __init__(self, sessions: sessionmaker[Session], *, calculator: str, model: str) -> None:
        self._sessions = sessions
        self._row = {
            "id": new_uuid(),
            "process": holder(),
            "calculator": calculator,
            "model": model,
        }
        self._coverage = reads.Coverage(examples=0, by_model={})
        self._counted = -math.inf
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="facegate-presence", daemon=True)

    def start(self) -> None:
        self._say()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._sessions.begin() as s:
            s.execute(delete(RunningServer).where(RunningServer.id == self._row["id"]))

    def _run(self) -> None:
        while not self._stop.wait(REFRESH_SECONDS):
            try:
                self._say()
            except Exception:  # the database may be away for a while: say so, try again
                log.exception("could not record this server as running")

    def coverage(self) -> reads.Coverage:
        """How many examples there are and each model has embedded, at most this old."""
        if time.monotonic() - self._counted > COVERAGE_SECONDS:
            with self._sessions() as s:
                self._coverage = reads.coverage(s)
            self._counted = time.monotonic()
        return self._coverage

    def _say(self) -> None:
        with self._sessions.begin() as s:
            s.merge(RunningServer(**self._row, seen_at=utcnow()))
