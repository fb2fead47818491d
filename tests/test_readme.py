"""The README's curl steps, as written, against `facegate serve` in a subprocess: a photo of
2 MB goes through multipart and through the piped base64 body, which a photo inside the command
line itself cannot (Linux refuses one argument over 128 KiB)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.support.readme import readme_block
from tests.support.servers import facegate_env, serving

MEGABYTE = 1024**2


def large_photo(source: Path, target: Path, at_least: int) -> int:
    """`source` enlarged until its JPEG is `at_least` bytes; returns the size."""
    image = Image.open(source)
    scale = 2
    while True:
        buffer = io.BytesIO()
        bigger = image.resize((image.width * scale, image.height * scale), Image.Resampling.LANCZOS)
        bigger.save(buffer, "JPEG", quality=98)
        if buffer.tell() >= at_least:
            target.write_bytes(buffer.getvalue())
            return buffer.tell()
        scale += 1


def answers(output: str) -> list[Any]:
    """The JSON documents curl printed one after another."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(output):
        if output[at].isspace():
            at += 1
            continue
        document, at = decoder.raw_decode(output, at)
        found.append(document)
    return found


@pytest.mark.slow
def test_the_readme_curl_steps_with_a_2_mb_photo(tmp_path: Path, faces_dir: Path) -> None:
    assert shutil.which("curl"), "curl is missing"
    shutil.copy(faces_dir / "fr_obama.jpg", tmp_path / "obama.jpg")
    size = large_photo(faces_dir / "fr_obama2.jpg", tmp_path / "obama2.jpg", 2 * MEGABYTE)
    assert 2 * MEGABYTE <= size < 5 * MEGABYTE  # under the default max_file_size
    data = tmp_path / "data"
    database = f"sqlite:///{data / 'facegate.db'}"
    with serving(database, data) as url:
        script = "\n".join(readme_block("## Recognise a face with curl"))
        assert script.count("http://localhost:8000") == 3
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script.replace("http://localhost:8000", url)],
            cwd=tmp_path,
            env=facegate_env(database, data),
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, result.stderr
    added, *recognised = answers(result.stdout)
    assert added["subject"] == "obama", added
    assert len(recognised) == 2, result.stdout
    for answer in recognised:
        (face,) = answer["result"]
        assert face["subjects"][0]["subject"] == "obama"
        assert face["subjects"][0]["similarity"] >= 0.5
    # The multipart call asked for age and gender; the piped one for nothing more.
    assert {"age", "gender"} <= recognised[0]["result"][0].keys()
    assert "age" not in recognised[1]["result"][0]
