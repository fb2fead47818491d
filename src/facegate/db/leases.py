"""Work queues in the database: a row claimed by one process at a time with a conditional UPDATE
(a lease), and the polling thread each server process runs over a queue."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, or_, update
from sqlalchemy.orm import Session, sessionmaker

from facegate.db.session import bulk_write

log = logging.getLogger(__name__)


def claim(
    s: Session, queue: Any, ids: Sequence[int], *, holder: str, now: datetime, until: datetime
) -> list[int]:
    """The rows of `ids` this holder won: each still pending and unclaimed, or its lease run
    out. The UPDATE's condition is checked by the database against the row as it is when the
    UPDATE runs, so workers of several processes never both win one row, on SQLite and
    PostgreSQL alike; a worker that dies leaves a lease that runs out, and the row is sent
    again. `queue`: a table with `id`, `state`, `claimed_by` and `claimed_until` columns."""
    won = []
    for row_id in ids:
        taken = bulk_write(
            s,
            update(queue)
            .where(
                queue.id == row_id,
                queue.state == "pending",
                or_(queue.claimed_until.is_(None), queue.claimed_until < now),
            )
            .values(claimed_by=holder, claimed_until=until),
        )
        if taken == 1:
            won.append(row_id)
    return won


def holder() -> str:
    """This process, as a lease names it: "<host>:<pid>"."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Poller:
    """One thread per server process that works through a queue table: `poll` is called until
    it finds nothing to do, then again every `every` seconds, or at once when a session that
    set `session.info[written]` commits (rows this process wrote go out without waiting).
    Started in the app's lifespan, stopped at shutdown."""

    def __init__(
        self, sessions: sessionmaker[Session], *, name: str, every: float, written: str
    ) -> None:
        self._sessions = sessions
        self._every = every
        self._written = written
        self._stopping = threading.Event()
        self._woken = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def poll(self) -> int:
        """Do the due work; how many rows were handled (0: sleep until woken or polled)."""
        raise NotImplementedError

    def closing(self) -> None:
        """Release what the worker holds, once its thread has stopped."""

    def start(self) -> None:
        event.listen(self._sessions, "after_commit", self._after_commit)
        event.listen(self._sessions, "after_soft_rollback", self._after_rollback)
        self._thread.start()

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(self._written, False):
            self._woken.set()

    def _after_rollback(self, session: Session, _previous: object) -> None:
        session.info.pop(self._written, None)

    def stop(self) -> None:
        """Finish the work under way, then stop."""
        event.remove(self._sessions, "after_commit", self._after_commit)
        event.remove(self._sessions, "after_soft_rollback", self._after_rollback)
        self._stopping.set()
        self._woken.set()
        self._thread.join()
        self.closing()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                done = self.poll()
            except Exception:  # a database hiccup must not end the work for the process
                log.exception("%s failed; trying again at the next poll", self._thread.name)
                done = 0
            if not done:
                self._woken.wait(self._every)
                self._woken.clear()


def backoff(attempts: int, *, initial: float, longest: float) -> timedelta:
    """The wait after the `attempts`-th failure: doubling from `initial` seconds, capped."""
    return timedelta(seconds=min(initial * 2 ** (attempts - 1), longest))
