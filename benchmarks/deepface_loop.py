"""deepface's side of benchmarks/peers.py: `DeepFace.represent` with the Dlib network on every
photo, in process, one photo at a time; prints one JSON object.

Runs in deepface's own virtualenv (it needs TensorFlow, which facegate's environment does not
hold), so it imports nothing of facegate's; peers.py starts it with DEEPFACE_HOME pointing at
dlib's model files, which deepface would otherwise download. One client only: deepface shares
one dlib detector and network between calls, and two threads calling it at once crash the
process (glibc: "free(): corrupted unsorted chunks"); more would take a process each.
Usage: /path/to/venv-deepface/bin/python benchmarks/deepface_loop.py PHOTO... [--detector dlib]
       [--passes 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from deepface import DeepFace


def faces_in(photo: str, detector: str) -> int:
    """The faces deepface finds and embeds in one photo (none found is not an error here)."""
    found = DeepFace.represent(
        img_path=photo, model_name="Dlib", detector_backend=detector, enforce_detection=False
    )
    # With enforce_detection off, a photo without a face comes back as one "face" of the whole
    # photo with confidence 0.
    return sum(1 for face in found if face["face_confidence"] > 0)


def load(photos: list[str], detector: str, requests: int) -> dict[str, object]:
    """`requests` photos in turn, one at a time: the wall time and each photo's ms."""
    latencies: list[float] = []
    start = time.perf_counter()
    for index in range(requests):
        sent = time.perf_counter()
        faces_in(photos[index % len(photos)], detector)
        latencies.append((time.perf_counter() - sent) * 1000)
    return {"seconds": time.perf_counter() - start, "latencies": latencies, "failed": 0}


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--detector", default="dlib")
    parser.add_argument("--passes", type=int, default=2, help="times each photo is sent per load")
    args = parser.parse_args()
    # The first pass loads the models and counts the faces found.
    faces = sum(faces_in(photo, args.detector) for photo in args.photos)
    timed = load(args.photos, args.detector, args.passes * len(args.photos))
    print(json.dumps({"faces": faces, "loads": {1: timed}, "rss_mib": rss_mib()}))


if __name__ == "__main__":
    main()
