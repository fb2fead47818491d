"""A steady writer in a process of its own: `python -m tests.support.writer DATABASE_URL
API_KEY RATE SECONDS` adds one example (a random 32-value embedding, the fake engine's length)
to the recognition service of API_KEY RATE times a second for SECONDS, each write its own
transaction, and prints how many it made."""

from __future__ import annotations

import sys
import time

import numpy as np

from facegate import face_services
from facegate.collection import store
from facegate.config import Settings
from facegate.db.session import create_db_engine, session_factory
from tests.support.fake_engine import FakeEngine


def main(database_url: str, api_key: str, rate: float, seconds: float) -> None:
    engine = create_db_engine(Settings.model_validate({"database_url": database_url}))
    sessions = session_factory(engine)
    rng = np.random.default_rng(7)
    started, made = time.monotonic(), 0
    while (now := time.monotonic()) < started + seconds:
        with sessions.begin() as s:
            service = face_services.service_by_key(s, api_key=api_key, type="recognition")
            assert service is not None
            store.add_example(
                s,
                service=service,
                subject=f"written {made % 50}",
                embedding=rng.normal(size=FakeEngine.dimensions),
                calculator=FakeEngine.calculator_id,
                image=None,
            )
        made += 1
        time.sleep(max(0.0, started + made / rate - now))
    print(made)
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
