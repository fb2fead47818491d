"""Every reason the code cites can be read in the repository: no outside documents, no dead ids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import REPO

DECISIONS = REPO / "docs" / "decisions.md"
SCANNED = ("src", "tests", "docs", "README.md", "benchmarks")
SUFFIXES = {".py", ".js", ".md", ".html", ".css", ".toml"}
SKIPPED_DIRS = {"__pycache__", "node_modules", ".venv", ".mypy_cache", ".ruff_cache"}

# The patterns are assembled from pieces so that this file does not match them itself.
_OUTSIDE_DOCS = ("API", "COMPREFACE", "DLIB_FORMAT", "STYLE")
OUTSIDE = [
    # The project's planning notes, which live beside the repository and are not cloned with it.
    re.compile(r"\b(?:" + "|".join(_OUTSIDE_DOCS) + r")\.md\b"),
    re.compile("shared" + r"/[\w.-]*\.md\b"),
    # Bare section numbers pointed into one of those notes.
    re.compile("\u00a7" + r"\s*\d"),
    # A decision cited by number alone pointed into those notes; ours name docs/decisions.md.
    re.compile(r"\bdecision" + r"\s+\d"),
]
# A relative path to a markdown file: it must land on a file of the repository.
RELATIVE_MD = re.compile(r"(?:\.\./)+[\w./-]*\.md\b")

_ID = r"[DCF]\d+(?:\.\d+)?"
# `decisions.md D6`, `(decisions.md C1.3 and C1.5)`, `[decisions.md](decisions.md) D1 to D10`.
CITATION = re.compile(
    r"decisions\.md(?:\]\([^)\s]*\))?\)?,?\s+"
    rf"({_ID}(?:(?:,\s*|\s+and\s+|\s+to\s+){_ID})*)"
)
# `docs/decisions.md, "Clients"`: a section cited by its heading.
HEADING_CITATION = re.compile(r"decisions\.md\)?,\s+\"([^\"]+)\"")


def _scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        root = REPO / name
        candidates = [root] if root.is_file() else root.rglob("*")
        for path in candidates:
            parts = set(path.relative_to(REPO).parts)
            if path.suffix not in SUFFIXES or not path.is_file() or parts & SKIPPED_DIRS:
                continue
            if any(part.endswith(".egg-info") for part in parts):
                continue
            files.append(path)
    return sorted(files)


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _entries() -> list[str]:
    return re.findall(rf"^#{{2,4}}\s+({_ID})\.?\s", DECISIONS.read_text(), flags=re.MULTILINE)


def _headings() -> set[str]:
    found = re.findall(r"^#{2,4}\s+(.+?)\s*$", DECISIONS.read_text(), flags=re.MULTILINE)
    return set(found)


def _cited_ids(group: str) -> list[str]:
    ids = re.findall(_ID, group)
    # "D1 to D10" cites every decision in between.
    for low, high in re.findall(r"D(\d+)\s+to\s+D(\d+)", group):
        ids += [f"D{n}" for n in range(int(low), int(high) + 1)]
    return ids


FILES = _scanned_files()


def test_the_scan_sees_the_code_and_the_docs() -> None:
    names = {path.relative_to(REPO).as_posix() for path in FILES}
    assert {"README.md", "docs/decisions.md", "src/facegate/errors.py"} <= names
    assert Path(__file__).resolve() in FILES


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_reference_to_markdown_outside_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = [
        f"line {_line(text, match.start())}: {match.group(0)!r}"
        for pattern in OUTSIDE
        for match in pattern.finditer(text)
    ]
    for match in RELATIVE_MD.finditer(text):
        target = match.group(0)
        resolved = {(path.parent / target).resolve(), (REPO / target).resolve()}
        if not any(p.is_file() and p.is_relative_to(REPO) for p in resolved):
            found.append(f"line {_line(text, match.start())}: {target!r} is not in the repository")
    assert not found, "cite docs/decisions.md instead:\n" + "\n".join(found)


def test_decision_entries_are_unique() -> None:
    entries = _entries()
    assert entries, f"no numbered entries found in {DECISIONS}"
    assert len(entries) == len(set(entries)), sorted(e for e in entries if entries.count(e) > 1)


def test_every_cited_decision_exists() -> None:
    entries = set(_entries())
    headings = _headings()
    missing: list[str] = []
    cited = 0
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(REPO).as_posix()
        for match in CITATION.finditer(text):
            for entry in _cited_ids(match.group(1)):
                cited += 1
                if entry not in entries:
                    missing.append(f"{where}:{_line(text, match.start())}: {entry}")
        for match in HEADING_CITATION.finditer(text):
            cited += 1
            if match.group(1) not in headings:
                missing.append(f"{where}:{_line(text, match.start())}: {match.group(1)!r}")
    assert cited > 0, "no citation of docs/decisions.md found: is the pattern still right?"
    assert not missing, "cited but not in docs/decisions.md:\n" + "\n".join(missing)


# A test file named in prose: `tests/api/contract/test_openapi.py`, `tests/test_config.py`.
TEST_FILE = re.compile(r"\btests/[\w/]+\.py\b")


def test_every_named_test_file_exists() -> None:
    """Tests move between area folders; a doc or comment that names one must follow it."""
    named = 0
    missing: list[str] = []
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        for match in TEST_FILE.finditer(text):
            named += 1
            if not (REPO / match.group(0)).is_file():
                where = f"{path.relative_to(REPO).as_posix()}:{_line(text, match.start())}"
                missing.append(f"{where}: {match.group(0)}")
    assert named > 0, "no test file named anywhere: is the pattern still right?"
    assert not missing, "named but absent:\n" + "\n".join(missing)


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("(decisions.md D6: a clear 400)", ["D6"]),
        ("(decisions.md C1.3 and C1.5)", ["C1.3", "C1.5"]),
        ("(decisions.md C1.0, C2.1) ---", ["C1.0", "C2.1"]),
        ("[decisions.md](decisions.md) D1 to D3).", ["D1", "D3", "D1", "D2", "D3"]),
        ("docs/decisions.md F1, F2, F3 and F4;", ["F1", "F2", "F3", "F4"]),
    ],
)
def test_citation_pattern(text: str, ids: list[str]) -> None:
    match = CITATION.search(text)
    assert match is not None
    assert _cited_ids(match.group(1)) == ids


def test_outside_patterns_catch_the_old_forms() -> None:
    old = [
        "(" + "API" + ".md decision" + " 4)",
        "see `../" + "shared/" + "COMPREFACE" + ".md`",
        "role rules (\u00a7" + "5.3)",
        "(decision" + " 2)",
    ]
    for text in old:
        assert any(pattern.search(text) for pattern in OUTSIDE), text
    assert RELATIVE_MD.search("../" + "shared" + "/notes" + ".md")
