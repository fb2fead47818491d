"""Bulk import throughput: `facegate import` against a loop of single API calls, same run.

The one-face photos of `../shared/faces` are repeated to N photos (default 1,000) in a temp
folder, one folder per subject. Each copy is the original file with a few bytes appended after
the image's end (pixels unchanged), so every copy has its own content hash and none is skipped.
Then, on fresh SQLite data directories:

- `facegate import DIR --service bench` (local, --workers = the CPU cores; wall time of the
  command, model loading included, and the enrolment time it reports);
- one client POSTing each photo to `/api/v1/recognition/faces` of a fresh `facegate serve`, one
  at a time (its first requests pay the engine's warm-up, as the local import's do);
- `facegate import DIR --url --key` against that server, emptied (remote mode, same workers).

Prints a markdown table (photos/s). Usage: python benchmarks/bulk_import.py [--count 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

FACES = Path(__file__).resolve().parents[2] / "shared" / "faces"


def photos(root: Path, count: int) -> list[tuple[Path, str]]:
    """`count` distinct photo files under `root`/<subject>/, cycling over the one-face photos."""
    images = json.loads((FACES / "manifest.json").read_text())["images"]
    singles = [(image["file"], image["people"][0]) for image in images if image["faces"] == 1]
    made = []
    for n in range(count):
        name, subject = singles[n % len(singles)]
        folder = root / subject
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{n:05d}-{name}"
        path.write_bytes((FACES / name).read_bytes() + f"copy {n}".encode())
        made.append((path, subject))
    return made


def facegate(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    command = ["facegate", *args, "--data-dir", str(data_dir)]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True)


def timed_import(*args: str, data_dir: Path) -> tuple[float, float, str]:
    """Wall seconds, the enrolment seconds the command reports, and its summary line."""
    started = time.perf_counter()
    done = facegate("import", *args, data_dir=data_dir)
    wall = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1]
    reported = re.search(r"\(([\d.]+) s,", summary)
    return wall, float(reported.group(1)) if reported else wall, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--port", type=int, default=8765)
    options = parser.parse_args()
    workers = str(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="facegate-bulk-") as temp:
        root = Path(temp)
        made = photos(root / "photos", options.count)
        rows = []

        wall, enrolling, summary = timed_import(
            str(root / "photos"), "--service", "bench", "--workers", workers,
            data_dir=root / "local",
        )  # fmt: skip
        rows.append(("`facegate import` (local)", wall, enrolling, summary))

        served = root / "served"
        key = facegate("services", "create", "--type", "recognition", "--name", "bench",
                       data_dir=served).stdout.strip()  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
        server = subprocess.Popen(
            ["facegate", "serve", "--port", str(options.port), "--data-dir", str(served)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{options.port}"
        try:
            with httpx.Client(base_url=url, timeout=120) as client:
                while True:
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.5)
                started = time.perf_counter()
                for path, subject in made:
                    answer = client.post(
                        "/api/v1/recognition/faces",
                        params={"subject": subject},
                        headers={"x-api-key": key},
                        files={"file": (path.name, path.read_bytes(), "image/jpeg")},
                    )
                    answer.raise_for_status()
                loop = time.perf_counter() - started
                rows.append(("single API calls, one client, one at a time", loop, loop,
                             f"{len(made)} enrolled"))  # fmt: skip
                client.delete("/api/v1/recognition/faces", headers={"x-api-key": key})
                wall, enrolling, summary = timed_import(
                    str(root / "photos"), "--url", url, "--key", key, "--workers", workers,
                    "--journal", str(root / "journal.jsonl"), data_dir=root / "unused",
                )  # fmt: skip
                rows.append(("`facegate import --url` (remote, same server)", wall, enrolling,
                             summary))  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=60)
            shutil.rmtree(root / "photos", ignore_errors=True)

    print(
        f"{options.count} photos, {workers} workers, {platform.processor() or platform.machine()}"
    )
    print()
    print("| how | wall s | enrolling s | photos/s (enrolling) | outcome |")
    print("|---|---|---|---|---|")
    for how, wall, enrolling, summary in rows:
        rate = options.count / enrolling
        print(f"| {how} | {wall:.1f} | {enrolling:.1f} | {rate:.1f} | {summary} |")


if __name__ == "__main__":
    main()
