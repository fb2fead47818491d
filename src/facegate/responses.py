"""Engine results as CompreFace JSON: the seed's plugin format or CompreFace 1.2's objects."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Literal

from facegate.engine import plugins as face_plugins
from facegate.engine.faces import Analysis, Face

ResponseFormat = Literal["seed", "compreface-1.2"]
Json = dict[str, object]


def box_json(face: Face) -> Json:
    """The box in CompreFace's key order; the probability is not rounded (as detect does)."""
    box = face.box
    return {
        "probability": box.probability,
        "x_max": box.x_max,
        "y_max": box.y_max,
        "x_min": box.x_min,
        "y_min": box.y_min,
    }


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
    "probability"}` (what CompreFace 1.2 actually returns). `embedding` appears only when
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
    if face.pose is not None and face_plugins.POSE in plugins:
        result["pose"] = {"pitch": face.pose.pitch, "roll": face.pose.roll, "yaw": face.pose.yaw}
    if face.embedding is not None and face_plugins.CALCULATOR in plugins:
        result["embedding"] = [float(v) for v in face.embedding]
    result["box"] = box_json(face)
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


def detection_json(
    analysis: Analysis,
    *,
    response_format: ResponseFormat,
    plugins: Collection[str],
    status: bool = False,
) -> Json:
    """The body of POST /api/v1/detection/detect for one analysed image."""
    body: Json = {
        "result": [
            face_json(face, response_format=response_format, plugins=plugins, status=status)
            for face in analysis.faces
        ]
    }
    if status:
        body["plugins_versions"] = versions_json(analysis, plugins)
    return body
