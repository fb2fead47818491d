"""`facegate.metrics`: what a scrape under workers keeps of processes that are gone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from facegate import metrics


def test_a_dead_workers_live_gauges_are_dropped_and_its_counters_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: its pid names no process now
    for name in (
        f"gauge_liveall_{gone.pid}.db",
        f"gauge_livesum_{gone.pid}.db",
        f"counter_{gone.pid}.db",
        f"gauge_liveall_{os.getpid()}.db",
    ):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setenv(metrics.MULTIPROCESS_DIR, str(tmp_path))
    metrics.forget_dead_workers()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"counter_{gone.pid}.db", f"gauge_liveall_{os.getpid()}.db"]
    )
