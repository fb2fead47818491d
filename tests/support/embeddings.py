"""Helpers for the data-access tests: seeded embeddings and examples stored with them."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from facegate.collection import store
from facegate.db.tables import Example, Service

CALC = "dlib-resnet-v1"


def vector(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=128).astype(np.float32)


def add(
    s: Session, service: Service, subject: str, seed: int = 0, image: bytes | None = None
) -> Example:
    return store.add_example(
        s, service=service, subject=subject, embedding=vector(seed), calculator=CALC, image=image
    )
