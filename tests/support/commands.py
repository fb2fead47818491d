"""The installed `facegate` command run as a user runs it, and photo folders to feed it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any


def facegate(
    *args: str | Path,
    data_dir: Path,
    db_url: str | None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`facegate ARGS --data-dir DATA_DIR` on `db_url` (None: the data dir's SQLite file), with
    none of the test process's FACEGATE_ variables but those of `env`."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("FACEGATE_")}
    if db_url is not None:
        clean["FACEGATE_DATABASE_URL"] = db_url
    return subprocess.run(
        ["facegate", *map(str, args), "--data-dir", str(data_dir)],
        env=clean | (env or {}),
        cwd=tempfile.gettempdir(),  # away from the repository's .env, if any
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def subject_folders(faces_dir: Path, manifest: list[dict[str, Any]], root: Path) -> dict[str, str]:
    """Copy the shared photos to `root`, one folder per subject (the first person a photo
    names; "group" for none); returns each photo's expected outcome by its path under `root`:
    "enrolled" for a photo of one face, "two faces" for the others."""
    expected = {}
    for image in manifest:
        folder = root / (image["people"][0] if image["people"] else "group")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(faces_dir / image["file"], folder / image["file"])
        expected[str(folder / image["file"])] = "enrolled" if image["faces"] == 1 else "two faces"
    return expected
