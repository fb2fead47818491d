"""The face API's JSON: one face in the seed's or CompreFace 1.2's plugin format, plugin
versions, rounded similarities, and the detection body that `POST /detect` and `facegate detect`
both print."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from facegate.collection.search import Match
from facegate.config import ResponseFormat
from facegate.engine import plugins as face_plugins
from facegate.engine.faces import Analysis, Face
from facegate.engine.similarity import round5
from facegate.inference import FaceQuery

Json = dict[str, object]


def face_json(
    face: Face,
    *,
    response_format: ResponseFormat,
    plugins: Collection[str],
    status: bool = False,
) -> Json:
    """One face as CompreFace renders it: only the requested plugins' keys, then the box.

    `seed`: `"age": [low, high]`, `"gender": "male"` (the documentation's examples).
    `compreface-1.2`: `"age": {"low", "high", "probability"}`, `"gender": {"value",
    "probability"}` (what CompreFace 1.2 actually returns). `mask` is `{"value", "probability"}`
    in both: CompreFace documents it only in that shape. `embedding` appears only when
    `calculator` was requested; `execution_time` only with `status`, without `landmarks`.
    """
    result: Json = {}
    if face.age is not None and face_plugins.AGE in plugins:
        age = face.age
        result["age"] = (
            [age.low, age.high]
            if response_format == "seed"
            else {"low": age.low, "high": age.high, "probability": age.probability}
        )
    if face.gender is not None and face_plugins.GENDER in plugins:
        gender = face.gender
        result["gender"] = (
            gender.value
            if response_format == "seed"
            else {"value": gender.value, "probability": gender.probability}
        )
    if face.mask is not None and face_plugins.MASK in plugins:
        result["mask"] = {"value": face.mask.value, "probability": face.mask.probability}
    if face.pose is not None and face_plugins.POSE in plugins:
        result["pose"] = {"pitch": face.pose.pitch, "roll": face.pose.roll, "yaw": face.pose.yaw}
    if face.quality is not None and face_plugins.QUALITY in plugins:
        result["quality"] = dataclasses.asdict(face.quality)
    if face.embedding is not None and face_plugins.CALCULATOR in plugins:
        result["embedding"] = [float(v) for v in face.embedding]
    result["box"] = face.box.as_json(rounded=False)
    # CompreFace's InsightFace builds answer `landmarks2d106` under the `landmarks` key.
    if face.landmarks106 is not None and face_plugins.LANDMARKS2D106 in plugins:
        result["landmarks"] = [[x, y] for x, y in face.landmarks106]
    elif face_plugins.LANDMARKS in plugins:
        result["landmarks"] = [[x, y] for x, y in face.landmarks]
    if face.landmarks68 is not None and face_plugins.LANDMARKS68 in plugins:
        result["landmarks68"] = [[x, y] for x, y in face.landmarks68]
    if status:
        result["execution_time"] = _per_plugin(face.execution_time, plugins)
    return result


def versions_json(analysis: Analysis, plugins: Collection[str]) -> Json:
    """`plugins_versions` (shown with `status`): each plugin that ran, without `landmarks`."""
    return _per_plugin(analysis.plugins_versions, plugins)


def _per_plugin(values: Mapping[str, object], plugins: Collection[str]) -> Json:
    """Times or versions by slug, as CompreFace's ExecutionTimeDto and PluginsVersionsDto hold
    them: those have no `landmarks` key, so it is dropped; `landmarks68` and `landmarks2d106`
    show only when they were asked for."""
    optional = {face_plugins.LANDMARKS68, face_plugins.LANDMARKS2D106}
    hidden = {face_plugins.LANDMARKS} | (optional - set(plugins))
    return {slug: value for slug, value in values.items() if slug not in hidden}


def scored_embeddings(vectors: list[list[float]], scores: Iterable[float]) -> list[dict[str, Any]]:
    """Embeddings with their similarity to a reference, best first (both embeddings/verify)."""
    result = [
        {"embedding": vector, "similarity": round5(score)}
        for vector, score in zip(vectors, scores, strict=True)
    ]
    return sorted(result, key=lambda item: -item["similarity"])


def face(
    item: Face, query: FaceQuery, response_format: ResponseFormat, *, round_box: bool
) -> dict[str, Any]:
    """One face as the response shows it: requested plugins only, embedding and times on demand.

    recognize and verify round the box probability to 5 places; detect does not (CompreFace)."""
    shown: dict[str, Any] = face_json(
        item, response_format=response_format, plugins=query.plugins, status=query.status
    )
    if round_box:
        shown["box"] = item.box.as_json(rounded=True)
    return shown


def with_versions(body: dict[str, Any], analysis: Analysis, query: FaceQuery) -> dict[str, Any]:
    """Add `plugins_versions` when `status=true` (CompreFace removes it otherwise)."""
    if query.status:
        body["plugins_versions"] = versions_json(analysis, query.plugins)
    return body


def detection_body(
    analysis: Analysis, query: FaceQuery, response_format: ResponseFormat
) -> dict[str, Any]:
    """The body of POST /api/v1/detection/detect, and what `facegate detect` prints."""
    faces = [face(item, query, response_format, round_box=False) for item in analysis.faces]
    return with_versions({"result": faces}, analysis, query)


def matches(found: Iterable[Match]) -> list[dict[str, Any]]:
    """Matches as CompreFace shows them: one per stored example, best first, duplicates kept
    (unless `aggregate=subject`); recognition's and a burst frame's `subjects`."""
    return [{"subject": m.subject, "similarity": round5(m.similarity)} for m in found]
