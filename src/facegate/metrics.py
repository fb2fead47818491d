"""The Prometheus metrics every process of a server records (prometheus_client), defined once.

Under `facegate serve --workers N` the environment names a directory (PROMETHEUS_MULTIPROC_DIR,
set by the command before the workers start) where each worker keeps its values in files;
`/metrics` then adds up every worker's (decisions.md D18). Gauges say how: `livesum`, the
sum over the live workers.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram, multiprocess

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

# Seconds: from a cached GET (a millisecond) to a large photo on a busy CPU (tens of seconds).
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REQUESTS = Counter(
    "facegate_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "facegate_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
    buckets=_SECONDS,
)
STAGE_SECONDS = Histogram(
    "facegate_engine_stage_duration_seconds",
    "Time the face engine spent in each stage of one image (decode, detect, align, embed, the "
    "plugins; total: the whole image), and search: one search of a service's embeddings (its "
    "version check included) for all the faces of one request.",
    ["stage"],
    buckets=_SECONDS,
)
INDEX_UPDATES = Counter(
    "facegate_index_updates",
    "How the in-memory search caught up with a service's writes: changes (the writes since "
    "the version it held, applied row by row) or load (the service read whole: its first "
    "search, or a record of writes that no longer reaches back).",
    ["kind"],
)
FACES = Histogram(
    "facegate_faces_per_image",
    "Faces the engine found in one image.",
    buckets=(0, 1, 2, 3, 5, 10, 20, 50),
)
INFERENCE_RUNNING = Gauge(
    "facegate_inference_running",
    "Images being analysed now (at most max_concurrent_inferences per worker).",
    multiprocess_mode="livesum",
)
INFERENCE_WAITING = Gauge(
    "facegate_inference_waiting",
    "Images waiting for an inference slot (past max_queued_inferences a request gets 503).",
    multiprocess_mode="livesum",
)
EVENT_DELIVERIES = Counter(
    "facegate_event_deliveries",
    "Attempts to deliver an event, by sink (webhook, mqtt) and outcome (delivered; retry: it "
    "failed and will be tried again; failed: it failed its last attempt).",
    ["sink", "outcome"],
)

FRIGATE_UP = Gauge(
    "facegate_frigate_up",
    "Whether the Frigate companion reaches the MQTT broker (link=mqtt) and Frigate's API "
    "(link=api): 1 yes, 0 no (docs/frigate.md).",
    ["link"],
    multiprocess_mode="livemax",
)
FRIGATE_EVENTS = Counter(
    "facegate_frigate_events",
    "Frigate person events the companion finished, by outcome: recognized, unknown, no_face "
    "(no face in any snapshot), failed; dropped: messages over the waiting limit.",
    ["outcome"],
)


# The process collector reports the process that answers the scrape, one worker of N: with
# workers, each one writes its own resident memory instead, under the collector's name with a
# `pid` label (`sum()` of it is the server's). Made on the first value: prometheus_client writes
# an unlabelled gauge's 0 to the worker's file when it is made, which a scrape would read as a
# worker of no memory while it loads its models.
@functools.cache
def _worker_memory() -> Gauge:
    return Gauge(
        "process_resident_memory_bytes",
        "Resident memory of each worker process, in bytes.",
        multiprocess_mode="liveall",
        registry=None,
    )


def resident_memory() -> int | None:
    """This process's resident memory in bytes, from Linux's /proc (None elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def record_memory() -> None:
    """Under workers, publish this worker's resident memory (the process collector covers one
    process)."""
    if MULTIPROCESS_DIR in os.environ:
        memory = resident_memory()
        if memory is not None:
            _worker_memory().set(memory)


def forget_dead_workers() -> None:
    """Drop the live gauges of worker processes that are gone. uvicorn's supervisor replaces a
    worker that stops answering its health check without telling prometheus_client, whose
    `livesum`/`liveall` gauges would otherwise keep the dead one's queue and memory for ever."""
    directory = os.environ.get(MULTIPROCESS_DIR)
    if directory is None:
        return
    for file in Path(directory).glob("gauge_live*_*.db"):
        found = re.fullmatch(r"gauge_live[a-z]+_(\d+)\.db", file.name)
        if found is not None and not _alive(int(found.group(1))):
            multiprocess.mark_process_dead(int(found.group(1)))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
