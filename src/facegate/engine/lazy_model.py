"""`LazyModel`: a plugin's model, loaded by the first request that asks for its plugin."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Model = TypeVar("Model")


class LazyModel(Generic[Model]):
    """A model loaded on its first `get`, once, however many threads ask at the same time.

    Only models that some requests never need are held this way (decisions.md D87): what a
    server never asks for costs no memory. A load that fails raises to the request that asked
    and is tried again by the next one."""

    def __init__(self, load: Callable[[], Model]) -> None:
        self._load = load
        self._model: Model | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def get(self) -> Model:
        model = self._model
        if model is None:
            # Checked again under the lock: concurrent first requests wait for one load.
            with self._lock:
                if self._model is None:
                    self._model = self._load()
                model = self._model
        return model
