"""The layers of docs/architecture.md: a module imports only its own layer's package and the
layers below it, so the domains never depend on HTTP and the engine never on storage."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO

PACKAGE = REPO / "src" / "facegate"
# Lowest first; each entry a top-level module or package of facegate (docs/architecture.md).
LAYERS = [
    ("config", "errors", "metrics"),
    ("engine", "db", "names"),
    ("inference",),
    ("events",),
    ("collection",),
    ("face_services",),
    ("admin",),
    ("api", "web", "frigate"),
    ("app",),
    ("cli",),
    ("__main__",),
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def _part(module: str) -> str:
    """facegate.collection.store -> collection."""
    return module.split(".")[1] if "." in module else module


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, facegate module) for every import of the file, those inside functions and
    TYPE_CHECKING blocks too."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("facegate"):
            if node.module == "facegate":
                yield from ((node.lineno, f"facegate.{alias.name}") for alias in node.names)
            else:
                yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            names = (alias.name for alias in node.names if alias.name.startswith("facegate."))
            yield from ((node.lineno, name) for name in names)


def _module(path: Path) -> str:
    return ".".join(("facegate", *path.relative_to(PACKAGE).with_suffix("").parts))


def test_every_part_has_a_layer() -> None:
    parts = {path.stem if path.is_file() else path.name for path in PACKAGE.iterdir()}
    parts -= {"__init__", "__pycache__", "py"}
    assert parts - {"py.typed"} == set(RANK)


def test_no_module_imports_a_higher_layer() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = _part(_module(path))
        for line, target in _imports(path):
            other = _part(target)
            if other != own and RANK[other] >= RANK[own]:
                wrong.append(f"{path.relative_to(REPO)}:{line} ({own}) imports {target} ({other})")
    assert wrong == []


def test_only_the_runtime_module_imports_onnxruntime() -> None:
    importers = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "import onnxruntime" in path.read_text() or "from onnxruntime" in path.read_text()
    ]
    assert importers == ["engine/runtime.py"]


@pytest.mark.parametrize("converter", ["dlib", "mask"])
def test_the_converters_are_reached_only_through_their_model_file(converter: str) -> None:
    """engine/convert/dlib and engine/convert/mask are build-time code: the runtime reaches each
    through its model_file (and the exported graph's tensor names), never the file readers."""
    outside = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent == PACKAGE / "engine" / "convert" / converter:
            continue
        for line, target in _imports(path):
            if target.startswith(f"facegate.engine.convert.{converter}") and not target.endswith(
                (".model_file", ".export")
            ):
                outside.append(f"{path.relative_to(REPO)}:{line} imports {target}")
    assert outside == []
