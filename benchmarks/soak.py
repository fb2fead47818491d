"""Soak: N clients for D minutes against one `facegate serve`, mixing recognise, add, delete and
list; prints requests done, failures, refusals (503, the full inference queue), p50/p99 per
operation, and the server's resident memory at minute 1 and at the end (see docs/performance.md,
"Many clients"). Not a test.

Each client loops: recognise 50 %, add 20 % (a one-face photo to one of 20 subjects), list
20 %, delete 10 % (one of the examples it added). A 503 with Retry-After is a refusal, not a
failure: the client waits as told and goes on. Anything else that is not the expected status,
and every transport error, is a failure.

Usage: python benchmarks/soak.py [--clients 12] [--minutes 10] [--port 18301]
       [--url URL --key API_KEY --pid SERVER_PID]   (a server already running; RSS needs --pid)
       [--env FACEGATE_X=Y ...]                     (settings of the server it starts)
Writes benchmarks/out/soak-<time>.json (every RSS sample, every operation's numbers) and
prints the table as markdown.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from run import FACES, REPO, serve

OUT = REPO / "benchmarks" / "out"
ONE_FACE = [
    "fr_obama.jpg",
    "fr_biden.jpg",
    "knn_train_alex_lacamoire_img1.jpg",
    "knn_train_kit_harington_john1.jpeg",
    "knn_train_rose_leslie_img1.jpg",
    "fp_kate_siegel.jpg",
]
MIX = [("recognize", 50), ("add", 20), ("list", 20), ("delete", 10)]


@dataclass
class Tally:
    """One operation's outcomes, shared by the clients under `lock`."""

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    refused: int = 0


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def soak(url: str, key: str, pid: int | None, clients: int, seconds: float) -> dict[str, object]:
    photos = {name: (FACES / name).read_bytes() for name in ONE_FACE}
    tallies: dict[str, Tally] = defaultdict(Tally)
    lock = threading.Lock()
    samples: list[tuple[float, float]] = []
    start = time.monotonic()
    stop = start + seconds

    def client(number: int) -> None:
        rng = random.Random(number)
        mine: list[str] = []
        with httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=120) as http:
            while time.monotonic() < stop:
                op = rng.choices([m for m, _ in MIX], [w for _, w in MIX])[0]
                if op == "delete" and not mine:
                    op = "add"
                name = rng.choice(ONE_FACE)
                began = time.perf_counter()
                try:
                    if op == "recognize":
                        expected = 200
                        response = http.post(
                            "/api/v1/recognition/recognize",
                            files={"file": (name, photos[name], "image/jpeg")},
                        )
                    elif op == "add":
                        expected = 201
                        response = http.post(
                            "/api/v1/recognition/faces",
                            params={"subject": f"subject-{rng.randrange(20)}"},
                            files={"file": (name, photos[name], "image/jpeg")},
                        )
                        if response.status_code == 201:
                            mine.append(response.json()["image_id"])
                    elif op == "list":
                        expected = 200
                        response = http.get("/api/v1/recognition/faces", params={"size": 100})
                    else:
                        expected = 200
                        response = http.delete(f"/api/v1/recognition/faces/{mine.pop()}")
                    status = response.status_code
                    failure = "" if status in (expected, 503) else f"{status} {response.text[:150]}"
                except httpx.TransportError as error:
                    status, failure = 0, repr(error)
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    tally = tallies[op]
                    if failure:
                        tally.failures.append(failure)
                    elif status == 503:
                        tally.refused += 1
                    else:
                        tally.latencies.append(elapsed)
                if status == 503:
                    time.sleep(float(response.headers.get("retry-after", "1")))

    def sampler() -> None:
        while pid is not None and time.monotonic() < stop:
            samples.append((time.monotonic() - start, rss_mb(pid)))
            time.sleep(min(10.0, max(0.0, stop - time.monotonic())))
        if pid is not None:
            samples.append((time.monotonic() - start, rss_mb(pid)))

    with ThreadPoolExecutor(clients + 1) as pool:
        done = [pool.submit(client, n) for n in range(clients)] + [pool.submit(sampler)]
        for future in done:
            future.result()
    return {"tallies": tallies, "samples": samples, "seconds": time.monotonic() - start}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def table(result: dict[str, object]) -> str:
    tallies: dict[str, Tally] = result["tallies"]  # type: ignore[assignment]
    seconds: float = result["seconds"]  # type: ignore[assignment]
    rows = [
        "| operation | done | failed | refused (503) | p50 ms | p99 ms | per s |",
        "|---|---|---|---|---|---|---|",
    ]
    everything = Tally()
    for op, _ in MIX:
        tally = tallies[op]
        everything.latencies += tally.latencies
        everything.failures += tally.failures
        everything.refused += tally.refused
    for op, tally in [*((op, tallies[op]) for op, _ in MIX), ("**all**", everything)]:
        rows.append(
            f"| {op} | {len(tally.latencies)} | {len(tally.failures)} | {tally.refused} | "
            f"{percentile(tally.latencies, 50):.0f} | {percentile(tally.latencies, 99):.0f} | "
            f"{len(tally.latencies) / seconds:.1f} |"
        )
    samples: list[tuple[float, float]] = result["samples"]  # type: ignore[assignment]
    if samples:
        minute1 = min(samples, key=lambda s: abs(s[0] - 60))
        rows.append("")
        rows.append(
            f"Server RSS: {minute1[1]:.0f} MiB at {minute1[0]:.0f} s (minute 1), "
            f"{samples[-1][1]:.0f} MiB at the end ({samples[-1][0]:.0f} s); "
            f"peak {max(rss for _, rss in samples):.0f} MiB."
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=18301)
    parser.add_argument("--url", help="a running server (else one is started)")
    parser.add_argument("--key", help="with --url: a recognition service's API key")
    parser.add_argument("--pid", type=int, help="with --url: the server's process, for RSS")
    parser.add_argument("--env", action="append", default=[], help="FACEGATE_X=Y for the server")
    args = parser.parse_args()
    with ExitStack() as stack:
        if args.url:
            url, key, pid = args.url, args.key, args.pid
        else:
            environment = dict(item.split("=", 1) for item in args.env)
            photo = (FACES / ONE_FACE[0]).read_bytes()
            url, key, server = stack.enter_context(serve(args.port, photo, environment))
            pid = server.pid
        result = soak(url, key, pid, args.clients, args.minutes * 60)
    report = table(result)
    print(f"## Soak: {args.clients} clients, {args.minutes:g} min, {' '.join(args.env)}\n")
    print(report)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    tallies: dict[str, Tally] = result["tallies"]  # type: ignore[assignment]
    record = {
        "clients": args.clients,
        "minutes": args.minutes,
        "env": args.env,
        "seconds": result["seconds"],
        "rss_samples_mib": result["samples"],
        "operations": {
            op: {
                "done": len(t.latencies),
                "failed": len(t.failures),
                "refused": t.refused,
                "p50_ms": percentile(t.latencies, 50),
                "p99_ms": percentile(t.latencies, 99),
                "failures": sorted(set(t.failures))[:20],
            }
            for op, t in tallies.items()
        },
        "table": report,
    }
    path = OUT / f"soak-{stamp}.json"
    path.write_text(json.dumps(record, indent=2))
    print(f"\n(written to {path.relative_to(REPO)})")


if __name__ == "__main__":
    main()
