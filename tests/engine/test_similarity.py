"""facegate.engine.similarity: the formula, the fit, and each model set's calibration."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facegate.engine import calibration
from facegate.engine import similarity as sim
from facegate.engine.model_sets import ARCFACE_SCALES, DLIB_SCALE, W600K_MBF_SHA256

SCALE = sim.Scale(c0=0.4, c1=18.0)
# The most each kind of error may be at 0.5, per model set (the "face models" issue's bar).
MAX_ERROR = {"dlib": 0.01, "insightface-s": 0.005}
FITTED = {"dlib": DLIB_SCALE, "insightface-s": ARCFACE_SCALES[W600K_MBF_SHA256]}


def test_distance_c0_is_the_boundary():
    assert float(SCALE.from_distance(SCALE.c0)) == pytest.approx(0.5)
    assert float(SCALE.from_distance(0.0)) > 0.999
    assert float(SCALE.from_distance(2.0)) < 0.001
    values = SCALE.from_distance(np.linspace(0, 2, 50))
    assert (np.diff(values) <= 0).all()


def test_compreface_formula_with_compreface_coefficients():
    # docs/models.md: FaceNet's coefficients give 0.8726 at d=1 and 0.07872 at sqrt(2).
    facenet = sim.Scale(c0=1.1817961, c1=5.291995557)
    assert float(facenet.from_distance(1.0)) == pytest.approx(0.8726, abs=1e-4)
    assert float(facenet.from_distance(2**0.5)) == pytest.approx(0.07872, abs=1e-5)


def test_normalize():
    rows = sim.normalize([[3.0, 4.0], [0.0, 0.0]])
    assert rows.dtype == np.float32
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
    assert sim.normalize([0.0, 2.0]).tolist() == [0.0, 1.0]


def test_similarity_ignores_scale_and_matches_the_matrix_form():
    rng = np.random.default_rng(0)
    query, rows = rng.normal(size=128), rng.normal(size=(5, 128))
    rows[0] = query * 3 + rng.normal(scale=0.01, size=128)
    expected = [SCALE.similarity(query, row) for row in rows]
    got = SCALE.similarities(sim.normalize(query), sim.normalize(rows))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert expected[0] > 0.99
    assert SCALE.similarity(query, query * 7) == pytest.approx(1.0, abs=1e-6)


def test_fit_puts_c0_in_the_middle_of_a_gap():
    scale = sim.fit([0.1, 0.2, 0.3], [0.5, 0.7])
    assert scale.c0 == pytest.approx(0.4)
    assert float(scale.from_distance(0.2)) == pytest.approx(sim.SAME_MEDIAN_SIMILARITY, abs=1e-3)


def test_fit_balances_the_errors_where_the_sides_overlap():
    # 10 same-person pairs and 100 different: from 0.45 to 0.5, one same-person pair (10 %)
    # lies beyond and ten different-person pairs (10 %) within; the balance is there.
    same = [0.1] * 9 + [0.55]
    different = [0.2] * 10 + [0.9] * 90
    scale = sim.fit(same, different)
    assert 0.2 < scale.c0 < 0.55
    assert calibration.PairDistances(same, different, []).error_rates(scale) == (0.1, 0.1)


def _known_faces(
    face_engine: Any, faces_dir: Path, manifest: list[dict[str, Any]]
) -> list[tuple[str, str, np.ndarray]]:
    """(person, photo, normalised embedding) of every face of a known person.

    Single-face photos name their face. In group photos each named person is the face nearest
    to the mean of that person's single-face embeddings (the manifest names who is in the
    photo, not which face is whose); unnamed faces are left out.
    """
    embedded = {}
    for entry in manifest:
        analysis = face_engine.analyze((faces_dir / entry["file"]).read_bytes())
        embedded[entry["file"]] = sim.normalize(np.stack([f.embedding for f in analysis.faces]))
    singles: dict[str, list[np.ndarray]] = {}
    for entry in manifest:
        if entry["faces"] == 1 and entry["people"]:
            singles.setdefault(entry["people"][0], []).append(embedded[entry["file"]][0])
    faces = []
    for entry in manifest:
        vectors = embedded[entry["file"]]
        for person in entry["people"]:
            if entry["faces"] == 1:
                faces.append((person, entry["file"], vectors[0]))
                continue
            centre = sim.normalize(np.mean(singles[person], axis=0))
            nearest = int(np.linalg.norm(vectors - centre, axis=1).argmin())
            faces.append((person, f"{entry['file']}#{nearest}", vectors[nearest]))
    return faces


def _faces_distances(
    engine: Any, faces_dir: Path, manifest: list[dict[str, Any]]
) -> calibration.PairDistances:
    faces = _known_faces(engine, faces_dir, manifest)
    pairs = [(a, b, pa == pb) for (pa, a, _), (pb, b, _) in itertools.combinations(faces, 2)]
    return calibration.pair_distances({photo: vector for _, photo, vector in faces}, pairs)


def test_each_model_set_is_calibrated_on_the_shared_pairs(
    model_engine: Any, faces_dir: Path, manifest: list[dict[str, Any]], lfw_dir: Path
):
    faces = _faces_distances(model_engine, faces_dir, manifest)
    lfw = calibration.folder_distances(model_engine, lfw_dir)
    both = faces + lfw
    fitted = both.fit()
    print(f"\n{model_engine.model}, fit on shared/faces and shared/lfw-dev:\n{both.report(fitted)}")
    for name, distances in (("faces", faces), ("lfw-dev", lfw)):
        print(f"{name}: {distances.report(model_engine.scale)}")
    # The coefficients in model_sets.py are the fit of exactly these measurements.
    assert (fitted.c0, fitted.c1) == pytest.approx(
        (model_engine.scale.c0, model_engine.scale.c1), rel=0.01
    )
    assert FITTED[model_engine.model] == model_engine.scale
    limit = MAX_ERROR[model_engine.model]
    for distances in (faces, lfw):
        false_reject, false_accept = distances.error_rates(model_engine.scale)
        assert false_reject <= limit
        assert false_accept <= limit
    assert len(lfw.missed) <= 2  # LFW photos where the detector finds no face at its default


def test_recognised_at_the_threshold_in_force_else_at_the_balance() -> None:
    """Events and unknown faces tell a known face the same way (decisions.md D21, D26)."""
    assert sim.recognised(0.5, threshold=None)
    assert not sim.recognised(0.49999, threshold=None)
    assert sim.recognised(0.499996, threshold=None)  # shown as 0.5: compared as shown
    assert not sim.recognised(0.7, threshold=0.8)
    assert sim.recognised(0.3, threshold=0.2)
    assert not sim.recognised(None, threshold=0.0)
