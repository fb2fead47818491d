"""The enrolment quality gate: a service's limits on the `quality` measures of a new example.

Off unless the service stores limits (`services.enrolment_quality`); then an example whose face
falls outside one is refused with every failing measure named (decisions.md D24, the default
limits measured in docs/quality.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from facegate.engine.faces import Face, Quality
from facegate.errors import ExampleRefused


@dataclass(frozen=True)
class QualityLimits:
    """Each limit None is not checked. Angles are absolute degrees; brightness 0..1. The
    defaults are measured (docs/quality.md, decisions.md D25)."""

    min_eye_distance: float | None = 14.0
    min_sharpness: float | None = 15.0
    min_brightness: float | None = 0.07
    max_brightness: float | None = 0.73
    # No default on pose or the detector's score: the recognisers held up to the largest
    # angles of the test photos, and the two detectors score on different scales.
    max_yaw: float | None = None
    max_pitch: float | None = None
    min_detection: float | None = None

    def to_json(self) -> dict[str, float | None]:
        """What the database column holds: every limit by name."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, stored: dict[str, float | None]) -> QualityLimits:
        """Limits as stored; a name the column does not hold (one added later) is its default."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in stored.items() if name in known})


def refusals(quality: Quality, limits: QualityLimits) -> list[str]:
    """Why the face fails the limits, one phrase per failing measure; empty when it passes."""
    found: list[str] = []

    def under(value: float, limit: float | None, what: str, measure: str, unit: str = "") -> None:
        if limit is not None and value < limit:
            found.append(
                f"face {what} ({measure} {value:g}{unit}, the service requires at least "
                f"{limit:g}{unit})"
            )

    def over(value: float, limit: float | None, what: str, measure: str, unit: str = "") -> None:
        if limit is not None and value > limit:
            found.append(
                f"face {what} ({measure} {value:g}{unit}, the service allows at most "
                f"{limit:g}{unit})"
            )

    under(quality.eye_distance, limits.min_eye_distance, "too small", "eye distance", " px")
    under(quality.sharpness, limits.min_sharpness, "too blurred", "sharpness")
    under(quality.brightness, limits.min_brightness, "too dark", "brightness")
    over(quality.brightness, limits.max_brightness, "too bright", "brightness")
    over(abs(quality.yaw), limits.max_yaw, "turned too far sideways", "yaw", " degrees")
    over(abs(quality.pitch), limits.max_pitch, "tilted too far up or down", "pitch", " degrees")
    under(quality.detection, limits.min_detection, "hardly recognisable", "detection score")
    return found


def check(face: Face, limits: QualityLimits) -> None:
    """ExampleRefused naming every measure of the face outside the service's limits; the
    engine must have run the `quality` plugin on it."""
    if face.quality is None:
        raise RuntimeError("the engine returned a face without the quality it was asked for")
    failed = refusals(face.quality, limits)
    if failed:
        raise ExampleRefused(failed)
