"""tests/support/services.py: a missing outside service skips its tests, unless
FACEGATE_TEST_REQUIRE names it; and .ci/run requires them all around the README's own test
line (docs/decisions.md D53)."""

from __future__ import annotations

import re

import pytest

from tests.support import REPO
from tests.support.readme import readme_block
from tests.support.services import REQUIRE, SERVICES, required


@pytest.mark.parametrize(
    ("value", "service", "expected"),
    [
        (None, "postgres", False),
        ("", "postgres", False),
        ("all", "postgres", True),
        ("all", "shared", True),
        ("postgres", "postgres", True),
        ("postgres", "mqtt", False),
        (" postgres , mqtt ", "mqtt", True),
        ("chromium,nginx", "systemd", False),
        ("caddy", "caddy", True),
    ],
)
def test_what_is_required(value: str | None, service: str, expected: bool) -> None:
    environ = {} if value is None else {REQUIRE: value}
    assert required(service, environ) is expected


def test_a_misspelt_requirement_is_refused_not_skipped() -> None:
    with pytest.raises(pytest.UsageError, match="unknown \\['postgress'\\]"):
        required("postgres", {REQUIRE: "postgress"})


def test_the_names_are_the_services_the_tests_ask_for() -> None:
    asked = set()
    for path in (REPO / "tests").rglob("*.py"):
        text = path.read_text()
        asked |= set(re.findall(r"unavailable\(\s*\"(\w+)\"", text))
        if "require_broker(" in text and "def require_broker" not in text:
            asked.add("mqtt")
    assert asked == SERVICES


def test_ci_runs_the_readme_test_line_verbatim_and_requires_every_service() -> None:
    (test_line,) = readme_block("## Run the tests")
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert test_line in ci, f".ci/run must end with the README's test line: {test_line}"
    assert ci.index(f"export {REQUIRE}=all") < ci.index(test_line)
    for package in ("chromium", "mosquitto", "nginx", "caddy", "systemd"):
        assert any(line.endswith(f"|| install {package}") for line in ci), package
