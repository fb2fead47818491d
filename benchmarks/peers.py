"""facegate side by side with InsightFace-REST and deepface on the same photos at the same
concurrency: photos/s, faces/s, ms per photo (p50) and the server's RSS. Prints markdown tables.

Every load sends each photo of shared/faces (the 26 of manifest.json, one to six faces) `--passes`
times in turn, from 1, 4 and 8 keep-alive clients. One server runs at a time; each round starts
and measures every peer in turn (interleaved, so the machine's other load hits them alike), and
the tables give the medians of the rounds and the ratios between them.
- facegate: `facegate serve` (benchmarks/run.py `serve`) with each `--models` set, 2 threads,
  POST /api/v1/recognition/recognize.
- InsightFace-REST (SthPhoenix/InsightFace-REST): `--insightface-rest-url` of a running server,
  or `--insightface-rest-dir` (its source) with `--insightface-rest-python` (its virtualenv) to
  start one here with uvicorn, its ONNX Runtime backend and facegate's buffalo_s files (SCRFD-500M,
  MobileFaceNet); POST /extract with the photo in base64.
- deepface: `--deepface-python` (a virtualenv with deepface) runs benchmarks/deepface_loop.py,
  the Dlib network in process, one photo at a time (it cannot run two at once).
A peer not given is skipped with a note. Setup commands: docs/performance.md, "Side by side with
peers". The memory table follows a served peer's RSS from its start (one face enrolled, for
facegate) through the first pass over the photos to each load. `--facegate-src LABEL=DIR`
(repeated) runs facegate from each source folder in turn (PYTHONPATH), such as a checkout
before and after a change, as peers of their own.
Usage: python benchmarks/peers.py [--insightface-rest-dir DIR --insightface-rest-python PY |
       --insightface-rest-url URL] [--deepface-python PY] [--models insightface-s,dlib]
       [--facegate-src LABEL=DIR ...] [--rounds 2] [--passes 2]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from facegate.config import Settings
from facegate.engine.model_files import dlib_model, package_file
from facegate.engine.model_sets import CARRIER_DISTRIBUTION, CARRIER_PACKAGE
from run import FACES, _load, _wait_for_port, load_photos, machine, recognize, serve
from soak import rss_mb

HERE = Path(__file__).resolve().parent
CONCURRENCY = (1, 4, 8)
THREADS = "2"
# InsightFace-REST's names for the two buffalo_s files (its models.json), and facegate's.
IFR_MODELS = {"scrfd_500m_bnkps": "scrfd_500m_bnkps.onnx", "w600k_mbf": "w600k_mbf.onnx"}
# The memory table's first two stages.
STARTED, ONE_PASS = "started", "one pass"


@dataclass
class Load:
    seconds: float
    latencies: list[float]  # ms, of the photos answered
    failed: int


@dataclass
class Round:
    """One peer's measurements in one round."""

    faces: int  # found in one pass over the photos
    loads: dict[int, Load]
    rss_mib: float  # the most seen after a load
    # RSS MiB when started, after the first pass and after each load (by clients); empty for
    # deepface, measured in its own loop.
    memory: dict[str, float] = field(default_factory=dict)


@dataclass
class Api:
    """How to post one photo to a server, and how many faces its answer holds."""

    send: Callable[[httpx.Client, bytes], httpx.Response]
    faces: Callable[[httpx.Response], int]


def _extract(http: httpx.Client, photo: bytes) -> httpx.Response:
    """InsightFace-REST's /extract: detection and embeddings, no other attribute."""
    body = {"images": {"data": [base64.b64encode(photo).decode()]}, "extract_ga": False}
    return http.post("/extract", json=body)


FACEGATE_API = Api(recognize, lambda response: len(response.json()["result"]))
IFR_API = Api(_extract, lambda response: len(response.json()["data"][0]["faces"]))


def http_round(
    api: Api, url: str, key: str, pid: int | None, photos: list[bytes], passes: int
) -> Round:
    """A served peer: a first pass counts the faces (and warms it up), then the loads."""
    memory: dict[str, float] = {}

    def measure(stage: str) -> None:
        if pid is not None:  # else a server whose process this user cannot see
            memory[stage] = rss_mb(pid)

    measure(STARTED)
    with httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=120) as http:
        faces = 0
        for photo in photos:
            response = api.send(http, photo)
            response.raise_for_status()
            faces += api.faces(response)
    measure(ONE_PASS)
    loads: dict[int, Load] = {}
    for concurrency in CONCURRENCY:
        start = time.perf_counter()
        latencies, failed = _load(url, key, photos, concurrency, passes * len(photos), api.send)
        loads[concurrency] = Load(time.perf_counter() - start, latencies, failed)
        measure(_clients(concurrency))
    loaded = [memory[_clients(n)] for n in CONCURRENCY if _clients(n) in memory]
    return Round(faces, loads, max(loaded, default=float("nan")), memory)


def _clients(concurrency: int) -> str:
    return f"{concurrency} client{'s' if concurrency > 1 else ''}"


def listening_pid(url: str) -> int | None:
    """The process listening on a local URL's port (for its RSS), if this user may see it."""
    port = httpx.URL(url).port
    for connection in psutil.net_connections("tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
            return connection.pid
    return None


@contextmanager
def insightface_rest(source: Path, python: Path, port: int) -> Iterator[tuple[str, int]]:
    """InsightFace-REST from its source, one uvicorn process, ONNX Runtime on the CPU, with the
    buffalo_s files facegate runs: (url, pid)."""
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp)
        settings = json.loads((source / "models" / "models.json").read_text())
        for name, file in IFR_MODELS.items():
            folder = models / "onnx" / name
            folder.mkdir(parents=True)
            (folder / f"{name}.onnx").symlink_to(
                package_file(CARRIER_PACKAGE, f"model/{file}", distribution=CARRIER_DISTRIBUTION)
            )
            # Its checksum is of its own re-exported copy; a mismatch makes it download one.
            settings[name].pop("md5", None)
        (models / "models.json").write_text(json.dumps(settings))
        env = {
            **os.environ,
            "MODELS_DIR": str(models),
            "INFERENCE_BACKEND": "onnx",
            "DET_NAME": "scrfd_500m_bnkps",
            "REC_NAME": "w600k_mbf",
            "MAX_SIZE": "640,640",
            "OMP_NUM_THREADS": THREADS,
            "LOG_LEVEL": "WARNING",
        }
        log = models / "server.log"
        server = subprocess.Popen(
            [str(python), "-m", "uvicorn", "if_rest.api.main:app", "--port", str(port)],
            cwd=source, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
        )  # fmt: skip
        try:
            _wait_for_port(port, server)
            yield f"http://127.0.0.1:{port}", server.pid
        except RuntimeError:
            print(log.read_text()[-2000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            server.wait(timeout=30)


def deepface_round(python: Path, detector: str, passes: int) -> Round:
    """deepface in its own interpreter, with dlib's model files where it looks for them."""
    with tempfile.TemporaryDirectory() as home:
        weights = Path(home) / ".deepface" / "weights"
        weights.mkdir(parents=True)
        for name in (
            "dlib_face_recognition_resnet_model_v1.dat",
            "shape_predictor_5_face_landmarks.dat",
        ):
            (weights / name).symlink_to(dlib_model(name))
        photos = [str(FACES / name) for name, _, _ in load_photos(FACES)]
        result = subprocess.run(
            [str(python), str(HERE / "deepface_loop.py"), *photos,
             "--detector", detector, "--passes", str(passes)],
            env={**os.environ, "DEEPFACE_HOME": home, "TF_CPP_MIN_LOG_LEVEL": "3",
                 "OMP_NUM_THREADS": THREADS},
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    measured = json.loads(result.stdout.splitlines()[-1])
    loads = {int(n): Load(**load) for n, load in measured["loads"].items()}
    return Round(measured["faces"], loads, measured["rss_mib"])


def rows(name: str, rounds: list[Round], photos: int) -> Iterator[str]:
    faces = rounds[0].faces
    for concurrency in CONCURRENCY:
        loads = [r.loads[concurrency] for r in rounds if concurrency in r.loads]
        if not loads:
            yield f"| {name} | {concurrency} | n/a (one photo at a time only) | | | | |"
            continue
        rate = statistics.median(len(load.latencies) / load.seconds for load in loads)
        p50 = statistics.median(statistics.median(load.latencies) for load in loads)
        failed = sum(load.failed for load in loads)
        failures = f", {failed} requests failed" if failed else ""
        rss = max(r.rss_mib for r in rounds)
        yield (
            f"| {name} | {concurrency} | {rate:.1f} | {rate * faces / photos:.1f} | {p50:.0f} "
            f"| {rss:.0f} | {faces}{failures} |"
        )


def memory_rows(name: str, rounds: list[Round]) -> Iterator[str]:
    """RSS per stage: the median of the rounds, then each round's."""
    stages = [STARTED, ONE_PASS, *(_clients(n) for n in CONCURRENCY)]
    cells = []
    for stage in stages:
        seen = [r.memory[stage] for r in rounds if stage in r.memory]
        if not seen:
            return
        each = ", ".join(f"{mib:.0f}" for mib in seen)
        cells.append(f"**{statistics.median(seen):.0f}** ({each})")
    yield f"| {name} | {' | '.join(cells)} |"


def ratio_rows(ours: str, theirs: str, measured: dict[str, list[Round]]) -> Iterator[str]:
    """Photos/s (median per round of ours / theirs) and RSS, where both were measured."""
    rss = max(r.rss_mib for r in measured[ours]) / max(r.rss_mib for r in measured[theirs])
    for concurrency in CONCURRENCY:
        ratios = [
            (len(a.loads[concurrency].latencies) / a.loads[concurrency].seconds)
            / (len(b.loads[concurrency].latencies) / b.loads[concurrency].seconds)
            for a, b in zip(measured[ours], measured[theirs], strict=True)
            if concurrency in a.loads and concurrency in b.loads
        ]
        if ratios:
            yield (
                f"| {ours} / {theirs} | {concurrency} | {statistics.median(ratios):.2f}x "
                f"| {', '.join(f'{r:.2f}' for r in ratios)} | {rss:.2f}x |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="insightface-s,dlib", help="facegate's model sets")
    parser.add_argument(
        "--facegate-src",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="run facegate from this source folder too (repeat to compare checkouts)",
    )
    parser.add_argument("--insightface-rest-url", help="a running InsightFace-REST")
    parser.add_argument("--insightface-rest-dir", type=Path, help="its source, to start it")
    parser.add_argument("--insightface-rest-python", type=Path, help="its virtualenv's python")
    parser.add_argument("--deepface-python", type=Path, help="a virtualenv's python with deepface")
    parser.add_argument("--deepface-detector", default="dlib", help="deepface's detector_backend")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--passes", type=int, default=2, help="times each photo is sent per load")
    parser.add_argument("--deepface-passes", type=int, default=1, help="it takes seconds a photo")
    parser.add_argument("--port", type=int, default=18301)
    args = parser.parse_args()
    photos = [data for _, data, _ in load_photos(FACES)]
    peers: dict[str, Callable[[], Round]] = {}
    sources = [text.split("=", 1) for text in args.facegate_src] or [["", ""]]
    for model in args.models.split(","):
        for label, source in sources:

            def facegate_round(model: str = model, source: str = source) -> Round:
                env = {"FACEGATE_MODEL": model, "FACEGATE_THREADS": THREADS}
                if source:
                    env["PYTHONPATH"] = str(Path(source).resolve())
                with serve(args.port, photos[0], env) as (url, key, server):
                    return http_round(FACEGATE_API, url, key, server.pid, photos, args.passes)

            peers[f"facegate {model}{f' ({label})' if label else ''}"] = facegate_round
    notes = []
    if args.insightface_rest_url:
        url = args.insightface_rest_url
        pid = listening_pid(url)
        peers["InsightFace-REST"] = lambda: http_round(IFR_API, url, "", pid, photos, args.passes)
    elif args.insightface_rest_dir and args.insightface_rest_python:

        def ifr_round() -> Round:
            source, python = args.insightface_rest_dir, args.insightface_rest_python
            with insightface_rest(source, python, args.port + 1) as (url, pid):
                return http_round(IFR_API, url, "", pid, photos, args.passes)

        peers["InsightFace-REST"] = ifr_round
    else:
        notes.append("InsightFace-REST skipped: give --insightface-rest-url or -dir and -python")
    if args.deepface_python:
        peers["deepface"] = lambda: deepface_round(
            args.deepface_python, args.deepface_detector, args.deepface_passes
        )
    else:
        notes.append("deepface skipped: give --deepface-python")
    load_before = os.getloadavg()
    measured: dict[str, list[Round]] = {name: [] for name in peers}
    for round_number in range(args.rounds):
        for name, measure in peers.items():
            print(f"round {round_number + 1}: {name}", file=sys.stderr)
            measured[name].append(measure())
    load_after = os.getloadavg()
    print(machine(Settings()))
    print(
        f"load average (1, 5, 15 min) before: {', '.join(f'{n:.1f}' for n in load_before)}; "
        f"after: {', '.join(f'{n:.1f}' for n in load_after)}"
    )
    print(
        f"{len(photos)} photos, each sent {args.passes}x per load; medians of {args.rounds} rounds"
    )
    for note in notes:
        print(f"- {note}")
    print()
    expected = sum(faces for _, _, faces in load_photos(FACES))
    print(
        f"| peer | clients | photos/s | faces/s | ms/photo p50 | RSS MiB | faces (of {expected}) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, rounds in measured.items():
        for row in rows(name, rounds, len(photos)):
            print(row)
    print()
    stages = " | ".join([STARTED, f"after {ONE_PASS}", *(_clients(n) for n in CONCURRENCY)])
    print(f"| RSS MiB, median (per round) | {stages} |")
    print("|---|---|---|---|---|---|")
    for name, rounds in measured.items():
        for row in memory_rows(name, rounds):
            print(row)
    print()
    print("| photos/s | clients | median ratio | per round | RSS ratio |")
    print("|---|---|---|---|---|")
    pairs = [("facegate insightface-s", "InsightFace-REST"), ("facegate dlib", "deepface")]
    # Each source folder against the first, model set by model set.
    first, *others = [label for label, _ in sources]
    for model in args.models.split(","):
        pairs += [(f"facegate {model} ({b})", f"facegate {model} ({first})") for b in others]
    for ours, theirs in pairs:
        if ours in measured and theirs in measured:
            for row in ratio_rows(ours, theirs, measured):
                print(row)


if __name__ == "__main__":
    main()
