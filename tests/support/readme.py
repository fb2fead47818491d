"""The README's code blocks, as the tests run them."""

from __future__ import annotations

import re

from tests.support import REPO


def readme_block(after: str) -> list[str]:
    """The lines of README.md's first code block after the line containing `after`."""
    text = (REPO / "README.md").read_text()
    start = text.index(after)
    block = re.search(r"```\w*\n(.*?)```", text[start:], flags=re.DOTALL)
    assert block is not None, f"no code block after {after!r} in README.md"
    return block.group(1).splitlines()
