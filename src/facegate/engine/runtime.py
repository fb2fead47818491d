"""ONNX Runtime sessions: the one module that imports onnxruntime, so thread and device policy
lives in one place."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
from onnxruntime import InferenceSession

from facegate.config import Settings
from facegate.errors import ModelUnavailable

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"

# InferenceSession is re-exported so other modules can name the type without importing
# onnxruntime themselves.
__all__ = ["InferenceSession", "create_session", "cuda_available", "providers", "session_options"]


def cuda_available() -> bool:
    """True when onnxruntime-gpu is installed and reports a usable CUDA provider."""
    return CUDA in ort.get_available_providers()


def providers(settings: Settings) -> list[str]:
    """Execution providers in priority order for `settings.device` (auto, cpu or cuda)."""
    if settings.device == "cpu":
        return [CPU]
    if cuda_available():
        # CPU stays as the fallback for operators the CUDA provider does not implement.
        return [CUDA, CPU]
    if settings.device == "cuda":
        raise ModelUnavailable(
            "FACEGATE_DEVICE=cuda, but ONNX Runtime has no CUDAExecutionProvider: install "
            "the `onnxruntime-gpu` package (pip install 'facegate[gpu]') on a machine with a GPU"
        )
    return [CPU]


def session_options(settings: Settings) -> ort.SessionOptions:
    """Options shared by every session: fixed thread count, no spinning, full graph fusion."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Several sessions (detector, age, gender, embedder) share few cores; spinning threads
    # would burn CPU that the other sessions and the web server need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def create_session(model: bytes | Path, *, settings: Settings) -> InferenceSession:
    """Load an ONNX model (file path or serialized bytes) with facegate's session policy."""
    source = str(model) if isinstance(model, Path) else model
    return InferenceSession(
        source, sess_options=session_options(settings), providers=providers(settings)
    )
