"""`FaceEngine`: image bytes + a `FaceRequest` -> every face with its box, embedding and plugins."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt

from facegate.config import Settings
from facegate.engine import geometry, images, model_sets, quality, runtime, thumbnails
from facegate.engine import plugins as face_plugins
from facegate.engine.faces import Analysis, Box, Face, FaceRequest
from facegate.engine.model_sets import ModelSet
from facegate.engine.options import EngineOptions
from facegate.engine.similarity import ClusterThresholds, FalseAccept, Scale
from facegate.engine.types import Detections, Photo, Pixels

# Every face, embedded, at the model set's threshold: what recognition and calibration need.
EMBED_ALL = FaceRequest()


# The smallest face box (shorter side, pixels) whose chip is cut from a JPEG decoded at reduced
# scale rather than from a second, full decode: from 100 px up the embedding stays within
# cosine 0.998 (dlib) of the full decode's; at 73 px dlib's fell to 0.989 (decisions.md D76).
MIN_CHIP_FACE = 100

# The stage that estimates age and gender together.
ATTRIBUTES = "attributes"


class FaceEngine:
    """Thread-safe face analysis with one model set: the detector and recogniser load in
    `create`, a plugin's model on the first request for it (decisions.md D87)."""

    def __init__(self, *, options: EngineOptions, models: ModelSet) -> None:
        self._options = options
        self._models = models
        self.model = models.name
        self.licence = models.licence
        self.calculator_id: str = models.calculator_id
        self.dimensions: int = models.recognizer.dimensions
        self.scale: Scale = models.scale
        self.false_accepts: tuple[FalseAccept, ...] = models.false_accepts
        self.cluster_thresholds: ClusterThresholds = models.clusters
        self.det_prob_threshold: float = models.det_prob_threshold
        self.plugins_versions: dict[str, str] = dict(models.versions)

    @classmethod
    def create(cls, options: EngineOptions) -> FaceEngine:
        """Load the model set `options.model` from installed packages or the models folder."""
        return cls(options=options, models=model_sets.load(options))

    @classmethod
    def from_settings(cls, settings: Settings) -> FaceEngine:
        """The engine a server, a command or a job runs: the settings' model set and options."""
        return cls.create(EngineOptions.from_settings(settings))

    def load_plugin_models(self) -> None:
        """Load now what the plugins' first requests would: `facegate doctor` finds a damaged
        model file before a client does."""
        for model in self._models.plugin_models():
            model.get()

    def analyze(self, image: bytes, request: FaceRequest = EMBED_ALL) -> Analysis:
        """Faces in `image`, largest first, with what `request` asks for.

        With `request.detect` false (CompreFace's `detect_faces=false`) the whole image is one
        face of probability 1.0, its landmarks the points it is aligned by (dlib set: dlib's eye
        corners and nose base; ArcFace sets: the detector's points found in it), and `pose`,
        which needs the detector's points, is skipped as CompreFace skips its pose estimators
        (and `quality`, for the same reason).
        Raises ImageError subclasses for unusable bytes and ModelUnavailable for plugins this
        server cannot run. No face gives `Analysis(faces=[])`.
        """
        # Counted while it runs: with as many analyses as threads at once, the networks run
        # single-threaded (`runtime.Network`).
        with runtime.analysis():
            return self._analyze(image, request)

    def _analyze(self, image: bytes, request: FaceRequest) -> Analysis:
        threshold = request.det_prob_threshold
        if threshold is None:
            threshold = self.det_prob_threshold
        limit, detect = request.limit, request.detect
        slugs = face_plugins.check(request.plugins, self.plugins_versions.keys())
        if not detect:
            # Both read the detector's 5 points, which a whole image taken as a face lacks.
            slugs -= {face_plugins.POSE, face_plugins.QUALITY}
        run = _Run()
        # A big JPEG decodes straight at detection scale (libjpeg's DCT scaling) unless a
        # plugin reads the full pixels; the recogniser's chips do only for small faces, below.
        full = bool(slugs & face_plugins.NEED_FULL_RESOLUTION - {face_plugins.CALCULATOR})
        max_side = (
            None if full else max(self._options.max_detect_size, self._options.fine_detect_size)
        )
        with run.stage("decode"):
            decoded = images.decode(
                image, max_image_pixels=self._options.max_image_pixels, max_side=max_side
            )
        with run.stage("detect"):
            if detect:
                seen = self._models.detector.detect(decoded.pixels, threshold=threshold)
            else:
                seen = self._models.recognizer.whole_image(decoded.pixels)
            seen = _largest(seen, limit)
        found = seen.scaled(decoded.scale)
        faces = [_face(found, i, decoded.width, decoded.height) for i in range(len(found))]
        pixels = decoded.pixels
        reduced = decoded.scale != 1.0
        if faces and reduced and face_plugins.CALCULATOR in slugs:
            needed = _side_for_chips(seen, pixels)
            if needed is not None:
                with run.stage("decode"):
                    finer = images.decode(
                        image, max_image_pixels=self._options.max_image_pixels, max_side=needed
                    )
                pixels = finer.pixels
                seen = found.scaled(1 / finer.scale)
        if faces:
            self._describe(faces, seen, pixels, slugs, run)
        if request.pictures:
            thumbnails.add_pictures(faces, decoded.pixels, decoded.scale)
        for face in faces:
            face.execution_time = run.per_face(len(faces), slugs)
        versions = {"detector": self.plugins_versions["detector"]}
        versions.update({slug: self.plugins_versions[slug] for slug in sorted(slugs)})
        return Analysis(
            faces=faces,
            width=decoded.width,
            height=decoded.height,
            timings=run.timings(),
            plugins_versions=versions,
        )

    def _describe(
        self,
        faces: list[Face],
        found: Detections,
        pixels: npt.NDArray[np.uint8],
        slugs: frozenset[str],
        run: _Run,
    ) -> None:
        """Fill in what the requested plugins compute, all faces of the photo at once."""
        models = self._models
        photo = Photo(pixels, found, models.aligner)
        if face_plugins.CALCULATOR in slugs:
            with run.stage("align"):
                chips = models.recognizer.chips(photo)
            with run.stage("embed"):
                vectors = models.recognizer.embed(chips)
            for face, vector in zip(faces, vectors, strict=True):
                face.embedding = vector
        age, gender = face_plugins.AGE in slugs, face_plugins.GENDER in slugs
        if age or gender:
            with run.stage(ATTRIBUTES):
                ages, genders = models.attributes.get().estimate(photo, age=age, gender=gender)
            if age:
                for face, estimated_age in zip(faces, ages, strict=True):
                    face.age = estimated_age
            if gender:
                for face, estimated_gender in zip(faces, genders, strict=True):
                    face.gender = estimated_gender
        if face_plugins.LANDMARKS68 in slugs:
            with run.stage("landmarks68"):
                points = models.landmarks68.get().points(pixels, found.boxes)
            for face, face_points in zip(faces, points, strict=True):
                face.landmarks68 = face_points
        if face_plugins.LANDMARKS2D106 in slugs and models.landmarks106 is not None:
            with run.stage("landmarks2d106"):
                points = models.landmarks106.get().points(pixels, found.boxes)
            for face, face_points in zip(faces, points, strict=True):
                face.landmarks106 = face_points
        if face_plugins.MASK in slugs and models.mask is not None:
            with run.stage("mask"):
                masks = models.mask.get().classify(pixels, found.boxes)
            for face, mask in zip(faces, masks, strict=True):
                face.mask = mask
        if face_plugins.POSE in slugs:
            with run.stage("pose"):
                for face, marks in zip(faces, found.landmarks, strict=True):
                    face.pose = geometry.pose(marks)
        if face_plugins.QUALITY in slugs:
            with run.stage(face_plugins.QUALITY):
                measured = quality.measure(pixels, found.landmarks, found.scores)
            for face, face_quality in zip(faces, measured, strict=True):
                face.quality = face_quality


def _side_for_chips(seen: Detections, pixels: Pixels) -> int | None:
    """The longer side a decode of the photo needs for the smallest face of `seen` (found in
    `pixels`) to be at least MIN_CHIP_FACE (its box's shorter side), the floor for cutting its
    chip; None when every face already is (docs/decisions.md D76)."""
    sides = np.minimum(seen.boxes[:, 2] - seen.boxes[:, 0], seen.boxes[:, 3] - seen.boxes[:, 1])
    smallest = max(float(sides.min()), 1.0)
    if smallest >= MIN_CHIP_FACE:
        return None
    return math.ceil(int(max(pixels.shape[:2])) * MIN_CHIP_FACE / smallest)


def _largest(found: Detections, limit: int) -> Detections:
    """Faces ordered by box area, largest first (CompreFace's order), cut to `limit` if > 0."""
    areas = (found.boxes[:, 2] - found.boxes[:, 0]) * (found.boxes[:, 3] - found.boxes[:, 1])
    order = np.argsort(-areas, kind="stable")
    return found.take(order[:limit] if limit else order)


def _face(found: Detections, i: int, width: int, height: int) -> Face:
    """Detection i as a Face: box clipped to the image; landmarks may fall outside it."""
    x_min, y_min, x_max, y_max = (round(float(v)) for v in found.boxes[i])
    box = Box(
        x_min=min(max(x_min, 0), width - 1),
        y_min=min(max(y_min, 0), height - 1),
        x_max=min(max(x_max, 0), width - 1),
        y_max=min(max(y_max, 0), height - 1),
        probability=float(found.scores[i]),
    )
    landmarks = [(round(float(x)), round(float(y))) for x, y in found.landmarks[i]]
    return Face(box=box, landmarks=landmarks)


class _Run:
    """Stage timings of one analyze call."""

    def __init__(self) -> None:
        self._started = time.perf_counter()
        self._ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self._ms[name] = self._ms.get(name, 0.0) + (time.perf_counter() - start) * 1000

    def timings(self) -> dict[str, float]:
        total = (time.perf_counter() - self._started) * 1000
        return {**{k: round(v, 3) for k, v in self._ms.items()}, "total": round(total, 3)}

    def per_face(self, count: int, slugs: frozenset[str]) -> dict[str, float]:
        """CompreFace's `execution_time`: each stage's ms split evenly over the photo's faces."""
        stage_of = {
            "detector": "detect",
            face_plugins.CALCULATOR: "embed",
            # Age and gender share one stage (one alignment, one network on InsightFace packs),
            # so each reports the time of both.
            face_plugins.AGE: ATTRIBUTES,
            face_plugins.GENDER: ATTRIBUTES,
        }
        times = {"detector": self._ms.get("detect", 0.0)}
        times.update({slug: self._ms.get(stage_of.get(slug, slug), 0.0) for slug in slugs})
        return {slug: float(int(ms / count)) for slug, ms in sorted(times.items())}
