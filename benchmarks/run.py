"""facegate's speed on the test photos, printed as markdown tables (see docs/performance.md).

1. Per-face embedding: the model set's recogniser at batch 1, 8 and 32 (for dlib, also dlib's
   own runtime next to ONNX Runtime; interleaved, medians).
2. Per photo: decode / detect / align / embed / total ms of `FaceEngine.analyze`, next to the
   face_recognition library (HOG + dlib's models) on the same bytes, with face counts; and the
   peak RSS of a process that loads the model set and analyses every photo.
3. HTTP: `/api/v1/recognition/recognize` latency p50/p95 at concurrency 1, 4 and 16 and the
   throughput, against a real `facegate serve` in a subprocess.

Usage: python benchmarks/run.py [--model dlib|insightface-s|insightface:<name>] [--rounds 3]
       [--port 18201] [--skip-http] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from facegate.config import Settings
from facegate.engine import model_sets
from facegate.engine.dlib.embedder import DlibEmbedder
from facegate.engine.face_engine import FaceEngine
from facegate.engine.images import decode
from facegate.engine.options import EngineOptions
from facegate.engine.runtime import providers
from facegate.engine.types import Photo

if TYPE_CHECKING:
    import httpx

REPO = Path(__file__).resolve().parent.parent
FACES = REPO.parent / "shared" / "faces"
ONE_FACE_PHOTO = "fr_obama.jpg"
# The `facegate` command, run with this interpreter.
FACEGATE = [sys.executable, "-c", "from facegate.cli import main; main()"]
Chips = npt.NDArray[np.uint8]


def _ms(seconds: float) -> float:
    return seconds * 1000


def timed_ms(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return _ms(time.perf_counter() - start)


def load_photos(faces_dir: Path) -> list[tuple[str, bytes, int]]:
    manifest = json.loads((faces_dir / "manifest.json").read_text())["images"]
    return [(e["file"], (faces_dir / e["file"]).read_bytes(), e["faces"]) for e in manifest]


# --- 1. embedding -------------------------------------------------------------------------------


def _chips(
    models: model_sets.ModelSet, options: EngineOptions, photos: list[tuple[str, bytes, int]]
) -> Chips:
    chips = []
    for _, data, _ in photos:
        pixels = decode(data, max_image_pixels=options.max_image_pixels).pixels
        found = models.detector.detect(pixels, threshold=models.det_prob_threshold)
        chips.append(models.recognizer.chips(Photo(pixels, found, models.aligner)))
    return np.concatenate(chips)


def embedding_table(models: model_sets.ModelSet, chips: Chips, rounds: int) -> str:
    """Per-face ms for each runtime and batch size; configurations measured in turn."""
    runtimes: dict[str, Callable[[Chips], object]] = {"onnx": models.recognizer.embed}
    if models.name == model_sets.DLIB:
        runtimes["dlib"] = DlibEmbedder.load().embed
    tiled = np.concatenate([chips] * (32 // len(chips) + 1))
    batches = {size: tiled[:size] for size in (1, 8, 32)}
    # dlib is ~30x slower: fewer calls per round keep the run short without starving ORT.
    calls = {"dlib": {1: 3, 8: 1, 32: 1}, "onnx": {1: 30, 8: 6, 32: 2}}
    samples: dict[tuple[str, int], list[float]] = {}
    for embed in runtimes.values():  # warm-up: ORT plans memory per input shape
        for batch in batches.values():
            embed(batch)
    for _ in range(rounds):
        for size, batch in batches.items():
            for name, embed in runtimes.items():
                for i in range(calls[name][size]):
                    one = tiled[i : i + 1] if size == 1 else batch
                    per_face = timed_ms(lambda e=embed, b=one: e(b)) / size
                    samples.setdefault((name, size), []).append(per_face)
    if "dlib" not in runtimes:
        lines = ["| batch | ONNX ms/face |", "|---|---|"]
        for size in batches:
            lines.append(f"| {size} | {statistics.median(samples[('onnx', size)]):.2f} |")
        return "\n".join(lines)
    lines = ["| batch | dlib ms/face | ONNX ms/face | speed-up |", "|---|---|---|---|"]
    for size in batches:
        dlib_ms = statistics.median(samples[("dlib", size)])
        onnx_ms = statistics.median(samples[("onnx", size)])
        lines.append(f"| {size} | {dlib_ms:.1f} | {onnx_ms:.2f} | {dlib_ms / onnx_ms:.0f}x |")
    return "\n".join(lines)


def peak_rss_mb(model: str, device: str, faces_dir: Path) -> float:
    """Peak resident memory of a fresh process that loads the model set and analyses every
    test photo once (face_recognition, loaded by this process, would inflate it here)."""
    script = (
        "import json, resource, sys, tempfile; from pathlib import Path;"
        "from facegate.config import Settings; from facegate.engine.face_engine import FaceEngine;"
        "from facegate.engine.options import EngineOptions;"
        "from facegate.engine.faces import FaceRequest;"
        f"s = Settings(data_dir=tempfile.mkdtemp(), model={model!r}, device={device!r});"
        "e = FaceEngine.from_settings(s);"
        f"d = Path({str(faces_dir)!r});"
        "r = FaceRequest(plugins=frozenset({'age', 'gender', 'calculator'}));"
        "[e.analyze((d / i['file']).read_bytes(), r) "
        "for i in json.loads((d / 'manifest.json').read_text())['images']];"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    return int(done.stdout.split()[-1]) / 1024


# --- 2. per photo, against face_recognition ------------------------------------------------------


def face_recognition_faces(data: bytes) -> int:
    """face_recognition's HOG detector + dlib embeddings on `data`; the number of faces."""
    import face_recognition

    image = face_recognition.load_image_file(io.BytesIO(data))
    locations = face_recognition.face_locations(image)
    face_recognition.face_encodings(image, known_face_locations=locations)
    return len(locations)


def photo_table(engine: FaceEngine, photos: list[tuple[str, bytes, int]], rounds: int) -> str:
    stages = ("decode", "detect", "align", "embed", "total")
    ours: dict[str, list[dict[str, float]]] = {}
    theirs: dict[str, list[float]] = {}
    counts: dict[str, tuple[int, int]] = {}
    for _, data, _ in photos[:3]:  # warm-up
        engine.analyze(data)
    for _ in range(rounds):
        for name, data, _ in photos:
            analysis = engine.analyze(data)
            ours.setdefault(name, []).append(analysis.timings)
            start = time.perf_counter()
            found = face_recognition_faces(data)
            theirs.setdefault(name, []).append(_ms(time.perf_counter() - start))
            counts[name] = (len(analysis.faces), found)
    head = "| photo | faces (expected / facegate / face_recognition) | " + " | ".join(stages)
    lines = [head + " | face_recognition ms | ratio |", "|---" * (len(stages) + 5) + "|"]
    sums = dict.fromkeys((*stages, "fr"), 0.0)
    for name, _, expected in photos:
        medians = {s: statistics.median(t.get(s, 0.0) for t in ours[name]) for s in stages}
        fr = statistics.median(theirs[name])
        for stage in stages:
            sums[stage] += medians[stage]
        sums["fr"] += fr
        cells = " | ".join(f"{medians[s]:.1f}" for s in stages)
        mine, found = counts[name]
        ratio = fr / medians["total"]
        lines.append(
            f"| {name} | {expected} / {mine} / {found} | {cells} | {fr:.0f} | {ratio:.0f}x |"
        )
    n = len(photos)
    expected_total = sum(p[2] for p in photos)
    mine_total = sum(c[0] for c in counts.values())
    fr_total = sum(c[1] for c in counts.values())
    cells = " | ".join(f"{sums[s] / n:.1f}" for s in stages)
    lines.append(
        f"| **mean of {n} photos** | {expected_total} / {mine_total} / {fr_total} | {cells} "
        f"| {sums['fr'] / n:.0f} | **{sums['fr'] / sums['total']:.1f}x** |"
    )
    return "\n".join(lines)


# --- 3. HTTP ------------------------------------------------------------------------------------


def _wait_for_port(port: int, server: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{server.args} exited with {server.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{server.args} did not open port {port}")


def _api_key(data_dir: Path, env: dict[str, str]) -> str:
    """A new recognition service's key: `services create` prints it alone on stdout. Run with
    the server's `env`: another checkout's code (benchmarks/throughput.py) has its own schema."""
    result = subprocess.run(
        [*FACEGATE, "services", "create", "--type", "recognition",
         "--name", "bench", "--data-dir", str(data_dir)],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    return result.stdout.strip()


def recognize(http: httpx.Client, photo: bytes) -> httpx.Response:
    """One photo posted to facegate's /api/v1/recognition/recognize."""
    return http.post(
        "/api/v1/recognition/recognize", files={"file": ("p.jpg", photo, "image/jpeg")}
    )


def _load(
    url: str,
    key: str,
    photo: bytes | Sequence[bytes],
    concurrency: int,
    requests: int,
    send: Callable[[httpx.Client, bytes], httpx.Response] = recognize,
) -> tuple[list[float], int]:
    """Latencies (ms) of the successful ones of `requests` recognitions sent by `concurrency`
    keep-alive clients, and the number of failed ones; several photos are sent in turn.
    `send` posts one photo (benchmarks/peers.py sends them to other servers' endpoints)."""
    import httpx

    photos = [photo] if isinstance(photo, bytes) else list(photo)
    latencies: list[float] = []
    failures: list[str] = []
    remaining = iter(range(requests))
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=60) as http:
            while True:
                with lock:
                    index = next(remaining, None)
                if index is None:
                    return
                start = time.perf_counter()
                try:
                    response = send(http, photos[index % len(photos)])
                    failure = "" if response.status_code == 200 else response.text[:200]
                except httpx.TransportError as error:
                    failure = repr(error)
                elapsed = _ms(time.perf_counter() - start)
                with lock:
                    if failure:
                        failures.append(failure)
                    else:
                        latencies.append(elapsed)

    with ThreadPoolExecutor(concurrency) as pool:
        for done in [pool.submit(client) for _ in range(concurrency)]:
            done.result()  # re-raises a client's crash
    for failure in sorted(set(failures)):
        print(f"  failed {failures.count(failure)}x: {failure}", file=sys.stderr)
    return latencies, len(failures)


@contextmanager
def serve(
    port: int, photo: bytes, environment: dict[str, str], options: Sequence[str] = ()
) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    """A `facegate serve` subprocess (with `options`, such as `--workers 2`) on a fresh data
    dir, one face enrolled: (url, api key, the process). Also used by benchmarks/soak.py and
    benchmarks/workers.py."""
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        log = data_dir / "server.log"
        env = {**os.environ, **environment, "FACEGATE_DATA_DIR": str(data_dir)}
        subprocess.run(
            [*FACEGATE, "models", "build", "--data-dir", str(data_dir)],
            check=True, capture_output=True, env=env,
        )  # fmt: skip
        key = _api_key(data_dir, env)
        server = subprocess.Popen(
            [*FACEGATE, "serve", "--port", str(port), *options],
            env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"),
        )  # fmt: skip
        try:
            _wait_for_port(port, server)
            url = f"http://127.0.0.1:{port}"
            httpx.post(
                f"{url}/api/v1/recognition/faces",
                params={"subject": "bench"},
                headers={"x-api-key": key},
                files={"file": ("p.jpg", photo, "image/jpeg")},
                timeout=60,
            ).raise_for_status()
            yield url, key, server
        finally:
            errors = [line for line in log.read_text().splitlines() if "Error" in line]
            for line in sorted(set(errors)):
                print(f"  server log, {errors.count(line)}x: {line[:300]}", file=sys.stderr)
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:  # requests stuck in the server
                server.kill()
                server.wait()


def http_rows(port: int, photo: bytes, environment: dict[str, str]) -> Iterator[str]:
    """The HTTP table, a row at a time (a stuck server still leaves the rows measured)."""
    yield "| concurrency | requests | failed | p50 ms | p95 ms | photos/s |"
    yield "|---|---|---|---|---|---|"
    with serve(port, photo, environment) as (url, key, _):
        _load(url, key, photo, 1, 10)  # warm-up
        for concurrency, requests in ((1, 60), (4, 80), (16, 64)):
            start = time.perf_counter()
            latencies, failed = _load(url, key, photo, concurrency, requests)
            rate = len(latencies) / (time.perf_counter() - start)
            latencies.sort()
            p50 = statistics.median(latencies)
            p95 = latencies[round(0.95 * (len(latencies) - 1))]
            cells = (concurrency, requests, failed, f"{p50:.1f}", f"{p95:.1f}", f"{rate:.1f}")
            yield "| " + " | ".join(map(str, cells)) + " |"


# --- the run ------------------------------------------------------------------------------------


def machine(settings: Settings) -> str:
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = dict(re.findall(r"^([^:]+):\s+(.*)$", cpu, flags=re.MULTILINE))
    import onnxruntime

    return (
        f"{fields.get('Model name', platform.processor())}, {fields.get('CPU(s)', '?')} vCPU; "
        f"Python {platform.python_version()}, onnxruntime {onnxruntime.__version__}, "
        f"providers {providers(settings.device)}, {settings.threads} threads per session"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="dlib", help="model set (FACEGATE_MODEL)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=18201)
    parser.add_argument("--faces-dir", type=Path, default=FACES)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-photos", action="store_true")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--database-url", help="for the HTTP server (default: SQLite in a temp dir)"
    )
    parser.add_argument("--skip-embedding", action="store_true")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="facegate-bench-"))
    settings = Settings(data_dir=data_dir, device=args.device, embedder="onnx", model=args.model)
    photos = load_photos(args.faces_dir)
    options = EngineOptions.from_settings(settings)
    print(f"Machine: {machine(settings)}; model set {args.model}\n")
    if not args.skip_embedding:
        models = model_sets.load(options)
        chips = _chips(models, options, photos)
        print(f"## Embedding, per face ({len(chips)} chips from the test photos)\n")
        print(embedding_table(models, chips, args.rounds), "\n", flush=True)
    if not args.skip_photos:
        engine = FaceEngine.create(options)
        print("## Per photo, ms (medians), facegate vs face_recognition\n")
        print(photo_table(engine, photos, args.rounds), "\n", flush=True)
        rss = peak_rss_mb(args.model, args.device, args.faces_dir)
        print(f"Peak RSS, model set loaded and every photo analysed once: {rss:.0f} MB\n")
    if not args.skip_http:
        photo = (args.faces_dir / ONE_FACE_PHOTO).read_bytes()
        print(f"## HTTP /recognize, {ONE_FACE_PHOTO} (1 face), one server process\n")
        environment = {"FACEGATE_DEVICE": args.device, "FACEGATE_MODEL": args.model}
        if args.database_url:
            environment["FACEGATE_DATABASE_URL"] = args.database_url
        for row in http_rows(args.port, photo, environment):
            print(row, flush=True)


if __name__ == "__main__":
    main()
