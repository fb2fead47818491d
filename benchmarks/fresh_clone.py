"""A newcomer's first minutes, timed: a fresh clone of this repository, a new virtual environment,
the README's install-and-run line verbatim, then the README's curl steps with a 2 MB photo.
Prints a table. The line is run as written, so the server listens on port 8000: stop anything
there first.

Usage: python benchmarks/fresh_clone.py [--keep]  (--keep leaves the clone in /tmp)
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.readme import readme_block  # noqa: E402
from tests.test_readme import MEGABYTE, answers, large_photo  # noqa: E402

FACES = REPO.parent / "shared" / "faces"
URL = "http://localhost:8000"


def wait_for_server(process: subprocess.Popen[bytes], timeout: float) -> float:
    """Seconds until /healthz answers 200 (the install runs first, in the same line)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if process.poll() is not None:
            raise SystemExit(f"the README's line stopped with {process.returncode}")
        try:
            if httpx.get(f"{URL}/healthz", timeout=2).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit(f"no answer from {URL} within {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="facegate-fresh-"))
    clone, venv = root / "facegate", root / "venv"
    rows: list[tuple[str, str]] = []
    started = time.monotonic()
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    rows.append(("clone and venv", f"{time.monotonic() - started:.1f} s"))
    [line] = [text for text in readme_block("## Install and run") if text.strip()]
    env = {key: value for key, value in os.environ.items() if not key.startswith("FACEGATE_")}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    env["VIRTUAL_ENV"] = str(venv)
    env.pop("PYTHONPATH", None)
    server = subprocess.Popen(
        ["bash", "-c", line], cwd=clone, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=(root / "serve.log").open("wb"),
    )  # fmt: skip
    try:
        rows.append(
            ("README line until /healthz answers", f"{wait_for_server(server, 1800):.1f} s")
        )
        size = subprocess.run(["du", "-sm", str(venv)], capture_output=True, text=True, check=True)
        rows.append(("virtual environment", f"{size.stdout.split()[0]} MB"))
        shutil.copy(FACES / "fr_obama.jpg", clone / "obama.jpg")
        photo = large_photo(FACES / "fr_obama2.jpg", clone / "obama2.jpg", 2 * MEGABYTE)
        script = "\n".join(readme_block("## Recognise a face with curl"))
        began = time.monotonic()
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], cwd=clone, env=env,
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"the README's curl steps failed:\n{done.stderr}")
        added, *recognised = answers(done.stdout)
        names = [answer["result"][0]["subjects"][0]["subject"] for answer in recognised]
        rows.append(
            (f"curl steps, {photo / MEGABYTE:.1f} MB photo", f"{time.monotonic() - began:.1f} s")
        )
        rows.append(("answers", f"added {added['subject']}; recognised {', '.join(names)}"))
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print("| step | result |\n|---|---|")
    for step, result in rows:
        print(f"| {step} | {result} |")


if __name__ == "__main__":
    main()
