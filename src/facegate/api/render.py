"""JSON pieces shared by the face endpoints: one face, plugin versions, rounded similarities."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from facegate.config import Settings
from facegate.engine.faces import Analysis, Face
from facegate.inference import FaceQuery
from facegate.responses import face_json, versions_json

_FIVE_PLACES = Decimal("0.00001")


def round5(value: float) -> float:
    """CompreFace's `BigDecimal.setScale(5, HALF_UP)` on the value as Java prints it."""
    return float(Decimal(repr(float(value))).quantize(_FIVE_PLACES, rounding=ROUND_HALF_UP))


def scored_embeddings(vectors: list[list[float]], scores: Iterable[float]) -> list[dict[str, Any]]:
    """Embeddings with their similarity to a reference, best first (both embeddings/verify)."""
    result = [
        {"embedding": vector, "similarity": round5(score)}
        for vector, score in zip(vectors, scores, strict=True)
    ]
    return sorted(result, key=lambda item: -item["similarity"])


def face(item: Face, query: FaceQuery, settings: Settings, *, round_box: bool) -> dict[str, Any]:
    """One face as the response shows it: requested plugins only, embedding and times on demand.

    recognize and verify round the box probability to 5 places; detect does not (CompreFace)."""
    shown: dict[str, Any] = face_json(
        item, response_format=settings.response_format, plugins=query.plugins, status=query.status
    )
    if round_box:
        shown["box"] = {**shown["box"], "probability": round5(item.box.probability)}
    return shown


def with_versions(body: dict[str, Any], analysis: Analysis, query: FaceQuery) -> dict[str, Any]:
    """Add `plugins_versions` when `status=true` (CompreFace removes it otherwise)."""
    if query.status:
        body["plugins_versions"] = versions_json(analysis, query.plugins)
    return body
