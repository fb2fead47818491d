"""Face plugins by CompreFace slug: which ones facegate runs, their version strings, and `mask`."""

from __future__ import annotations

from collections.abc import Collection

from facegate.errors import ModelUnavailable

CALCULATOR = "calculator"
AGE = "age"
GENDER = "gender"
LANDMARKS = "landmarks"
LANDMARKS68 = "landmarks68"
POSE = "pose"
MASK = "mask"

# What each slug reports in `plugins_versions`, in CompreFace's "<backend>.<Class>@<model>" form.
# The calculator's string is also the model id stored with every embedding.
VERSIONS = {
    CALCULATOR: "dlib-resnet-v1",
    AGE: "agegender.AgeDetector@age-v1",
    GENDER: "agegender.GenderDetector@gender-v1",
    LANDMARKS: "retinaface.LandmarksDetector@mobilenet0.25",
    LANDMARKS68: "dlib.LandmarksDetector@shape_predictor_68",
    POSE: "facegate.PoseEstimator@landmarks5",
}
DETECTOR_VERSION = "retinaface.FaceDetector@mobilenet0.25"

# Slugs CompreFace knows but facegate has no freely licensed model for.
UNAVAILABLE = {
    MASK: "Plugin not available: mask (no freely licensed mask detection model is available yet)",
}
# Plugins that need the face aligned on the full-resolution image (not only the detector box).
NEED_FULL_RESOLUTION = frozenset({CALCULATOR, AGE, GENDER, LANDMARKS68})


def check(slugs: Collection[str]) -> frozenset[str]:
    """The requested slugs, or ModelUnavailable naming the first one facegate cannot run."""
    requested = frozenset(slug.strip() for slug in slugs if slug.strip())
    unknown = sorted(requested - VERSIONS.keys())
    if unknown:
        raise ModelUnavailable(UNAVAILABLE.get(unknown[0], f"Plugin not available: {unknown[0]}"))
    return requested
