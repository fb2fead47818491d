"""facegate.engine.similarity: the formula, and the 0.5 boundary on every pair of known faces."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facegate.engine import similarity as sim


def test_distance_c0_is_the_boundary():
    assert float(sim.from_distance(sim.C0)) == pytest.approx(0.5)
    assert float(sim.from_distance(0.0)) > 0.999
    assert float(sim.from_distance(2.0)) < 0.001
    values = sim.from_distance(np.linspace(0, 2, 50))
    assert (np.diff(values) <= 0).all()


def test_compreface_formula_with_compreface_coefficients():
    # COMPREFACE.md 3.1: FaceNet's coefficients give 0.8726 at d=1 and 0.07872 at sqrt(2).
    c0, c1 = 1.1817961, 5.291995557
    assert float(sim.from_distance(1.0, c0, c1)) == pytest.approx(0.8726, abs=1e-4)
    assert float(sim.from_distance(2**0.5, c0, c1)) == pytest.approx(0.07872, abs=1e-5)


def test_normalize():
    rows = sim.normalize([[3.0, 4.0], [0.0, 0.0]])
    assert rows.dtype == np.float32
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
    assert sim.normalize([0.0, 2.0]).tolist() == [0.0, 1.0]


def test_similarity_ignores_scale_and_matches_the_matrix_form():
    rng = np.random.default_rng(0)
    query, rows = rng.normal(size=128), rng.normal(size=(5, 128))
    rows[0] = query * 3 + rng.normal(scale=0.01, size=128)
    expected = [sim.similarity(query, row) for row in rows]
    got = sim.similarities(sim.normalize(query), sim.normalize(rows))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert expected[0] > 0.99
    assert sim.similarity(query, query * 7) == pytest.approx(1.0, abs=1e-6)


def test_fit_puts_c0_in_the_middle_of_the_gap():
    c0, c1 = sim.fit([0.1, 0.2, 0.3], [0.5, 0.7])
    assert c0 == pytest.approx(0.4)
    assert float(sim.from_distance(0.2, c0, c1)) == pytest.approx(sim.SAME_MEDIAN_SIMILARITY)


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


def test_every_pair_of_known_faces_is_on_the_right_side_of_one_half(
    face_engine: Any, faces_dir: Path, manifest: list[dict[str, Any]]
):
    faces = _known_faces(face_engine, faces_dir, manifest)
    same, different, wrong = [], [], []
    for (person_a, photo_a, a), (person_b, photo_b, b) in itertools.combinations(faces, 2):
        distance = float(np.linalg.norm(a - b))
        score = float(sim.from_distance(distance))
        if person_a == person_b:
            same.append((score, distance, photo_a, photo_b))
            if score < 0.5:
                wrong.append(("same", score, photo_a, photo_b))
        else:
            different.append((score, distance, photo_a, photo_b))
            if score >= 0.5:
                wrong.append(("different", score, photo_a, photo_b))
    weakest_same, weakest_different = min(same), max(different)
    print(
        f"\n{len(faces)} faces, {len(same)} same-person and {len(different)} different pairs"
        f"\nlowest same-person similarity {weakest_same[0]:.4f} (d={weakest_same[1]:.4f}) "
        f"{weakest_same[2:]}"
        f"\nhighest different-person similarity {weakest_different[0]:.4f} "
        f"(d={weakest_different[1]:.4f}) {weakest_different[2:]}"
        f"\nsmallest margin from 0.5: {min(weakest_same[0] - 0.5, 0.5 - weakest_different[0]):.4f}"
    )
    assert wrong == []
    # The coefficients in similarity.py are the fit of exactly these measurements.
    c0, c1 = sim.fit([s[1] for s in same], [d[1] for d in different])
    assert (c0, c1) == pytest.approx((sim.C0, sim.C1), rel=0.02)
