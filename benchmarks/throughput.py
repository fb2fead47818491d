"""Photos per second of two servers side by side: this checkout's code against another's (such
as main before a change), on the same photos at 1, 4 and 16 clients. Prints a table.

Both servers run at once (benchmarks/run.py `serve`: fresh SQLite data dir, one face enrolled,
default settings), each with its own PYTHONPATH; the loads alternate between them, round by
round, so the machine's load hits both alike. Every request posts the next photo of
shared/faces (all 26 in turn) to /api/v1/recognition/recognize.
Usage: python benchmarks/throughput.py --before /path/to/other/src [--rounds 3] [--requests 48]
[--clients 1,4,16]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from contextlib import ExitStack
from pathlib import Path

from run import FACES, _load, load_photos, serve  # benchmarks/run.py

SRC = Path(__file__).resolve().parent.parent / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the other code's src/")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=48, help="per load")
    parser.add_argument("--port", type=int, default=8771)
    parser.add_argument("--clients", default="1,4,16", help="the loads, comma-separated")
    args = parser.parse_args()
    loads = [int(clients) for clients in args.clients.split(",")]
    photos = [data for _, data, _ in load_photos(FACES)]
    sources = {"before": args.before.resolve(), "now": SRC}
    rates: dict[tuple[str, int], list[float]] = {}
    cpu: dict[tuple[str, int], list[float]] = {}
    with ExitStack() as stack:
        servers = {
            label: stack.enter_context(serve(args.port + i, photos[0], {"PYTHONPATH": str(src)}))
            for i, (label, src) in enumerate(sources.items())
        }
        for url, key, _ in servers.values():
            _load(url, key, photos, 2, len(photos))  # warm-up
        for _ in range(args.rounds):
            for concurrency in loads:
                for label, (url, key, process) in servers.items():
                    start, cpu_start = time.perf_counter(), cpu_seconds(process.pid)
                    latencies, failed = _load(url, key, photos, concurrency, args.requests)
                    if failed:
                        print(f"{label}, {concurrency} clients: {failed} failed")
                    rate = len(latencies) / (time.perf_counter() - start)
                    rates.setdefault((label, concurrency), []).append(rate)
                    used = (cpu_seconds(process.pid) - cpu_start) * 1000 / len(latencies)
                    cpu.setdefault((label, concurrency), []).append(used)
    print(f"Medians of {args.rounds} rounds of {args.requests} requests")
    print("| clients | photos/s before | now | ratio | server CPU ms/photo before | now | ratio |")
    print("|---|---|---|---|---|---|---|")
    for concurrency in loads:
        before, now = (statistics.median(rates[label, concurrency]) for label in sources)
        cpu_before, cpu_now = (statistics.median(cpu[label, concurrency]) for label in sources)
        print(
            f"| {concurrency} | {before:.1f} | {now:.1f} | {now / before:.2f}x | "
            f"{cpu_before:.1f} | {cpu_now:.1f} | {cpu_now / cpu_before:.2f}x |"
        )


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by process `pid`, all its threads (user and system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
