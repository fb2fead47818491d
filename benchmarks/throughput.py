"""Photos per second of two servers side by side: this checkout's code against another's (such
as main before a change), on the same photos at 1, 4 and 16 clients. Prints a table.

Both servers run at once (benchmarks/run.py `serve`: fresh SQLite data dir, one face enrolled,
default settings), each with its own PYTHONPATH; the loads alternate between them, round by
round, so the machine's load hits both alike. Every request posts the next photo of
shared/faces (all 26 in turn) to /api/v1/recognition/recognize.
Usage: python benchmarks/throughput.py --before /path/to/other/src [--rounds 3] [--requests 48]
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import ExitStack
from pathlib import Path

from run import FACES, _load, load_photos, serve  # benchmarks/run.py

SRC = Path(__file__).resolve().parent.parent / "src"
CONCURRENCY = (1, 4, 16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the other code's src/")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=48, help="per load")
    parser.add_argument("--port", type=int, default=8771)
    args = parser.parse_args()
    photos = [data for _, data, _ in load_photos(FACES)]
    sources = {"before": args.before.resolve(), "now": SRC}
    rates: dict[tuple[str, int], list[float]] = {}
    with ExitStack() as stack:
        urls = {
            label: stack.enter_context(serve(args.port + i, photos[0], {"PYTHONPATH": str(src)}))[
                :2
            ]
            for i, (label, src) in enumerate(sources.items())
        }
        for url, key in urls.values():
            _load(url, key, photos, 2, len(photos))  # warm-up
        for _ in range(args.rounds):
            for concurrency in CONCURRENCY:
                for label, (url, key) in urls.items():
                    start = time.perf_counter()
                    latencies, failed = _load(url, key, photos, concurrency, args.requests)
                    if failed:
                        print(f"{label}, {concurrency} clients: {failed} failed")
                    rate = len(latencies) / (time.perf_counter() - start)
                    rates.setdefault((label, concurrency), []).append(rate)
    print(f"photos/s, median of {args.rounds} rounds of {args.requests} requests")
    print("| clients | before | now | now / before |")
    print("|---|---|---|---|")
    for concurrency in CONCURRENCY:
        before = statistics.median(rates["before", concurrency])
        now = statistics.median(rates["now", concurrency])
        print(f"| {concurrency} | {before:.1f} | {now:.1f} | {now / before:.2f}x |")


if __name__ == "__main__":
    main()
