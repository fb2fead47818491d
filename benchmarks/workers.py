"""Memory of `facegate serve --workers N`: what each process holds and how much of it is shared.
Prints a table.

For each N: a real server (benchmarks/run.py `serve`, dlib set unless FACEGATE_MODEL says
otherwise), 8 x N recognitions of fr_obama.jpg from 2 x N clients so every worker has run its
models, then each server process's RSS, PSS (shared pages divided among their users), USS (its
private pages) and shared pages, from /proc/PID/smaps_rollup (Linux).
Usage: python benchmarks/workers.py [--workers 1,2] [--port 8766]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import psutil

from run import FACES, _load, serve  # benchmarks/run.py

MIB = 1024 * 1024


def memory(pid: int) -> dict[str, int]:
    """smaps_rollup's fields of one process, in bytes."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) * 1024
    return fields


def _role(command: str) -> str:
    """What a spawned process of uvicorn's is: multiprocessing runs both through `-c`."""
    return "resource tracker" if "resource_tracker" in command else "worker"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    photo = (FACES / "fr_obama.jpg").read_bytes()
    print("| workers | process | RSS MiB | PSS MiB | USS (private) MiB | shared MiB |")
    print("|---|---|---|---|---|---|")
    for workers in (int(n) for n in args.workers.split(",")):
        with serve(args.port, photo, {}, ["--workers", str(workers)]) as (url, key, server):
            _load(url, key, photo, 2 * workers, 8 * workers)
            root = psutil.Process(server.pid)
            processes = [root, *root.children(recursive=True)]
            total: Counter[str] = Counter()
            for process in processes:
                m = memory(process.pid)
                uss = m["Private_Clean"] + m["Private_Dirty"]
                shared = m["Shared_Clean"] + m["Shared_Dirty"]
                role = "parent" if process is root else _role(" ".join(process.cmdline()))
                total.update({"Rss": m["Rss"], "Pss": m["Pss"], "uss": uss})
                print(
                    f"| {workers} | {role} | {m['Rss'] / MIB:.0f} | {m['Pss'] / MIB:.0f} "
                    f"| {uss / MIB:.0f} | {shared / MIB:.0f} |"
                )
            print(
                f"| {workers} | **all {len(processes)}** | {total['Rss'] / MIB:.0f} "
                f"| **{total['Pss'] / MIB:.0f}** | {total['uss'] / MIB:.0f} | |"
            )


if __name__ == "__main__":
    main()
