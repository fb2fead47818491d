"""A server whose every inference takes a second, in a process of its own (its GIL is its
own): `python -m tests.support.slow_server PORT FACES_DIR`, settings from FACEGATE_*."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import uvicorn

from facegate.app import create_app, server_options
from facegate.config import Settings
from facegate.engine.faces import Analysis
from tests.support.fake_engine import FakeEngine


class Slow:
    """An engine whose every call takes a second: a big host's inference slots stay busy."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def analyze(self, image: bytes, *args: Any, **kwargs: Any) -> Analysis:
        time.sleep(1)
        analysis: Analysis = self.engine.analyze(image, *args, **kwargs)
        return analysis


if __name__ == "__main__":
    settings = Settings.model_validate({})
    app = create_app(settings, engine=Slow(FakeEngine(Path(sys.argv[2]))))
    uvicorn.run(app, port=int(sys.argv[1]), log_level="warning", **server_options(settings))
