"""Does a cross-request batching queue help the ONNX embedder on this machine? Prints a table.

T threads each embed one face at a time (one face per request, the common case), either calling
the embedder directly (ONNX Runtime sessions are thread-safe; calls overlap) or through a queue
whose worker runs everything that arrived while the previous batch ran, optionally waiting a
window of a few ms for more. Usage: python benchmarks/batching.py [--seconds 4]
"""

from __future__ import annotations

import argparse
import queue
import statistics
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import numpy.typing as npt

from facegate.config import Settings
from facegate.engine.dlib.onnx_embedder import OnnxEmbedder
from facegate.engine.options import EngineOptions

Chips = npt.NDArray[np.uint8]
Vectors = npt.NDArray[np.float32]


class BatchingQueue:
    """Groups concurrent embed calls into one run; `window_s` waits for late arrivals."""

    def __init__(self, embedder: OnnxEmbedder, window_s: float, max_batch: int = 32) -> None:
        self._embedder = embedder
        self._window_s = window_s
        self._max_batch = max_batch
        self._queue: queue.Queue[tuple[Chips, Future[Vectors]]] = queue.Queue()
        threading.Thread(target=self._work, daemon=True).start()

    def embed(self, chips: Chips) -> Vectors:
        future: Future[Vectors] = Future()
        self._queue.put((chips, future))
        return future.result()

    def _work(self) -> None:
        while True:
            pending = [self._queue.get()]
            deadline = time.perf_counter() + self._window_s
            while sum(len(c) for c, _ in pending) < self._max_batch:
                try:
                    timeout = max(0.0, deadline - time.perf_counter())
                    pending.append(
                        self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
            vectors = self._embedder.embed(np.concatenate([c for c, _ in pending]))
            start = 0
            for chips, future in pending:
                future.set_result(vectors[start : start + len(chips)])
                start += len(chips)


def _run(embed: object, chip: Chips, threads: int, seconds: float) -> tuple[float, float, float]:
    """Faces per second, p50 and p95 latency (ms) of `threads` callers for `seconds`."""
    assert callable(embed)
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    def caller() -> None:
        while time.perf_counter() < stop:
            start = time.perf_counter()
            embed(chip)
            latencies.append(time.perf_counter() - start)

    workers = [threading.Thread(target=caller) for _ in range(threads)]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return len(latencies) / elapsed, statistics.median(ordered) * 1e3, p95 * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    chip = rng.integers(0, 256, size=(1, 150, 150, 3), dtype=np.uint8)
    settings = Settings(data_dir=Path(tempfile.mkdtemp()))
    embedder = OnnxEmbedder.create(EngineOptions.from_settings(settings))
    modes = {
        "direct": embedder.embed,
        "queue, no wait": BatchingQueue(embedder, 0.0).embed,
        "queue, 2 ms window": BatchingQueue(embedder, 0.002).embed,
    }
    for mode in modes.values():
        mode(chip)  # warm-up
    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    for _ in range(args.rounds):  # interleaved: the shared vCPUs drift
        for threads in (1, 4, 16):
            for name, embed in modes.items():
                results.setdefault((name, threads), []).append(
                    _run(embed, chip, threads, args.seconds)
                )
    print("| mode | callers | faces/s | p50 ms | p95 ms |")
    print("|---|---|---|---|---|")
    for (name, threads), samples in results.items():
        rate, p50, p95 = (statistics.median(s[i] for s in samples) for i in range(3))
        print(f"| {name} | {threads} | {rate:.0f} | {p50:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
