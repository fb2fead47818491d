"""ONNX Runtime sessions: the one module that imports onnxruntime, so thread and device policy
lives in one place."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
from onnxruntime import InferenceSession

from facegate.engine.options import EngineOptions
from facegate.errors import ModelUnavailable

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"

# InferenceSession is re-exported so other modules can name the type without importing
# onnxruntime themselves.
__all__ = ["InferenceSession", "create_session", "cuda_available", "providers", "session_options"]


def cuda_available() -> bool:
    """True when onnxruntime-gpu is installed and reports a usable CUDA provider."""
    return CUDA in ort.get_available_providers()


def providers(device: str) -> list[str]:
    """Execution providers in priority order for `device` (auto, cpu or cuda)."""
    if device == "cpu":
        return [CPU]
    if cuda_available():
        # CPU stays as the fallback for operators the CUDA provider does not implement.
        return [CUDA, CPU]
    if device == "cuda":
        raise ModelUnavailable(
            "FACEGATE_DEVICE=cuda, but ONNX Runtime has no CUDAExecutionProvider: install "
            "the `onnxruntime-gpu` package (pip install 'facegate[gpu]') on a machine with a GPU"
        )
    return [CPU]


def session_options(threads: int) -> ort.SessionOptions:
    """Options shared by every session: fixed thread count, no spinning, full graph fusion."""
    session = ort.SessionOptions()
    session.intra_op_num_threads = threads
    session.inter_op_num_threads = 1
    session.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Several sessions (detector, age, gender, embedder) share few cores; spinning threads
    # would burn CPU that the other sessions and the web server need.
    session.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session.add_session_config_entry("session.inter_op.allow_spinning", "0")
    session.log_severity_level = 3
    return session


def create_session(model: bytes | Path, *, options: EngineOptions) -> InferenceSession:
    """Load an ONNX model (file path or serialized bytes) with facegate's session policy."""
    source = str(model) if isinstance(model, Path) else model
    return InferenceSession(
        source, sess_options=session_options(options.threads), providers=providers(options.device)
    )
