"""ONNX Runtime sessions: the one module that imports onnxruntime, so thread and device policy
lives in one place."""

from __future__ import annotations

import functools
import logging
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy.typing as npt

from facegate.engine.options import EngineOptions
from facegate.errors import ModelUnavailable

# The builds of ONNX Runtime on PyPI; each installs the same `onnxruntime` module, so exactly
# one may be installed (docs/gpu.md, docs/decisions.md D56).
BUILDS = {"onnxruntime": "cpu", "onnxruntime-gpu": "cuda", "onnxruntime-openvino": "openvino"}
NO_RUNTIME = (
    "No ONNX Runtime is installed: pip install 'facegate[cpu]' (or [cuda] or [openvino] for a "
    "GPU, docs/gpu.md)"
)

try:
    import onnxruntime as ort
    from onnxruntime import InferenceSession
except ImportError as missing:
    raise ModelUnavailable(NO_RUNTIME) from missing

CUDA = "CUDAExecutionProvider"
OPENVINO = "OpenVINOExecutionProvider"
CPU = "CPUExecutionProvider"

# An execution provider as InferenceSession takes it: a name, or a name with its options.
Provider = str | tuple[str, dict[str, Any]]

# Other modules run networks through `Network` and never import onnxruntime themselves.
__all__ = [
    "INT8_RECIPE",
    "Network",
    "analyses_in_flight",
    "analysis",
    "available_providers",
    "calibrate_int8",
    "create_session",
    "installed_builds",
    "probe",
    "providers",
    "quantize_int8",
    "session_options",
    "version",
]


def available_providers() -> list[str]:
    """The execution providers the installed ONNX Runtime build offers on this machine."""
    return list(ort.get_available_providers())


def version() -> str:
    """The installed ONNX Runtime's version."""
    return str(ort.__version__)


def installed_builds() -> list[str]:
    """The ONNX Runtime distributions installed (more than one breaks the `onnxruntime`
    module: each overwrites the other's files, microsoft/onnxruntime#26996)."""
    found = []
    for name in BUILDS:
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        found.append(name)
    return found


def providers(
    device: str, *, openvino_device: str = "CPU", available: Sequence[str] | None = None
) -> list[Provider]:
    """Execution providers in priority order for `device` (auto, cpu, cuda or openvino), given
    the providers the installed build offers (default: ask ONNX Runtime)."""
    offered = available_providers() if available is None else list(available)
    openvino: Provider = (OPENVINO, {"device_type": openvino_device})
    # CPU stays last as the fallback for operators an accelerator's provider does not implement.
    if device == "cpu":
        return [CPU]
    if device == "cuda" and CUDA not in offered:
        raise ModelUnavailable(
            "FACEGATE_DEVICE=cuda, but ONNX Runtime has no CUDAExecutionProvider: install "
            "onnxruntime-gpu alone (pip uninstall onnxruntime; pip install 'facegate[cuda]', "
            "docs/gpu.md) on a machine with an NVIDIA GPU, CUDA 12 and cuDNN 9"
        )
    if device == "openvino" and OPENVINO not in offered:
        raise ModelUnavailable(
            "FACEGATE_DEVICE=openvino, but ONNX Runtime has no OpenVINOExecutionProvider: "
            "install onnxruntime-openvino alone (pip uninstall onnxruntime; pip install "
            "'facegate[openvino]', docs/gpu.md)"
        )
    if device in ("auto", "cuda") and CUDA in offered:
        return [CUDA, CPU]
    if device in ("auto", "openvino") and OPENVINO in offered:
        return [openvino, CPU]
    return [CPU]


def probe(chosen: Sequence[Provider]) -> list[str]:
    """The providers a session asking for `chosen` really runs on: ONNX Runtime leaves out,
    with a log line only, a provider that cannot start here (CUDA without its libraries)."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    try:
        session = InferenceSession(
            model.SerializeToString(), sess_options=session_options(1), providers=list(chosen)
        )
    except Exception:  # pybind's errors of ONNX Runtime share no public base class
        return []
    return list(session.get_providers())


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
    # CPU memory from the process's one shared arena (`_register_shared_arena`), not an arena
    # per session: the sessions of an analysis run one after another, so one arena grown to the
    # largest of them is enough (decisions.md D88).
    session.add_session_config_entry("session.use_env_allocators", "1")
    session.log_severity_level = 3
    return session


# Held while the shared arena is registered: sessions are created from several threads (the
# plugins' models load at their first request), and an allocator is registered only once.
_REGISTERING = threading.Lock()


@functools.cache
def _register_shared_arena() -> None:
    """Register the CPU arena that every session of this process shares (ONNX Runtime's
    default arena settings)."""
    memory = ort.OrtMemoryInfo(
        "Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT
    )
    ort.create_and_register_allocator(memory, ort.OrtArenaCfg(0, -1, -1, -1))


class _InFlight:
    """How many analyses this process runs now (`analysis`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    @contextmanager
    def one(self) -> Iterator[None]:
        with self._lock:
            self.count += 1
        try:
            yield
        finally:
            with self._lock:
                self.count -= 1


_ANALYSES = _InFlight()


def analysis() -> AbstractContextManager[None]:
    """Held by each analysis of a photo while it runs, so that the networks know how many run at
    once (`Network.run`)."""
    return _ANALYSES.one()


def analyses_in_flight() -> int:
    """How many analyses hold `analysis()` in this process now."""
    return _ANALYSES.count


class Network:
    """One ONNX network, as every model of facegate runs it.

    On the CPU with several threads it holds a session of the model per rung of a ladder of
    thread counts, halving from `threads` down to 1 (2 cores: 2 and 1; 16: 16, 8, 4, 2 and 1),
    and each run takes the largest rung that fits the share of the threads left to each analysis
    in flight in the process (`analysis`). One analysis alone has every thread; as many analyses
    as threads run single-threaded, one per core, instead of each waking threads that would
    only wait on the others' (docs/decisions.md D96)."""

    def __init__(self, sessions: dict[int, InferenceSession]) -> None:
        self._sessions = sessions
        self.rungs = tuple(sorted(sessions, reverse=True))
        self._main = sessions[self.rungs[0]]

    def threads_for(self, in_flight: int) -> int:
        """The threads of the session a run takes with `in_flight` analyses in the process."""
        share = self.rungs[0] // max(1, in_flight)
        return next((rung for rung in self.rungs if rung <= share), self.rungs[-1])

    def run(
        self, outputs: list[str] | None, feeds: dict[str, npt.NDArray[Any]]
    ) -> list[npt.NDArray[Any]]:
        """The network's `outputs` (None: all) for `feeds`, as InferenceSession.run, on the
        session of the rung that fits the analyses in flight now."""
        session = self._sessions[self.threads_for(analyses_in_flight())]
        result: list[npt.NDArray[Any]] = session.run(outputs, feeds)
        return result

    def get_inputs(self) -> list[Any]:
        return list(self._main.get_inputs())

    def get_outputs(self) -> list[Any]:
        return list(self._main.get_outputs())

    def get_providers(self) -> list[str]:
        return list(self._main.get_providers())


def create_session(model: bytes | Path, *, options: EngineOptions) -> Network:
    """Load an ONNX model (file path or serialized bytes) with facegate's session policy: on the
    CPU, a session per rung of `Network`'s ladder of thread counts."""
    source = str(model) if isinstance(model, Path) else model
    with _REGISTERING:
        _register_shared_arena()
    chosen = providers(options.device, openvino_device=options.openvino_device)

    def session(threads: int) -> InferenceSession:
        return InferenceSession(source, sess_options=session_options(threads), providers=chosen)

    first = session(options.threads)
    sessions = {options.threads: first}
    if first.get_providers() == [CPU]:
        rung = options.threads // 2
        while rung >= 1:
            sessions[rung] = session(rung)
            rung //= 2
    return Network(sessions)


# `quantize_static`'s settings (its enums by name): QDQ, weights int8 per output channel,
# activations uint8, the u8 x s8 product that AVX-512 VNNI and AVX-VNNI compute (int8 x int8
# has no such instruction there and ran 5x slower than float32). Weights keep 7 bits
# (`reduce_range`): CPUs without VNNI (AVX2) add the products in pairs in 16 bits, which 8-bit
# weights overflow; on an AMD Zen 3 that cost dlib's network 14 more same-person pairs refused
# on lfw-dev (docs/performance.md "int8", docs/decisions.md D95).
_INT8: dict[str, str | bool] = {
    "quant_format": "QDQ",
    "per_channel": True,
    "activation_type": "QUInt8",
    "weight_type": "QInt8",
    "reduce_range": True,
    "calibrate_method": "MinMax",
}
# The settings in words, recorded with an int8 file (`ConvertedFile.recipe`): a file made with
# other settings is made again.
INT8_RECIPE = ", ".join(f"{name}={value}" for name, value in _INT8.items())


def quantize_int8(model: bytes, *, ranges: Path) -> bytes:
    """`model` quantised to int8 (`_INT8`) with the activation ranges recorded in `ranges` (ONNX
    Runtime's calibration cache, written by `calibrate_int8`)."""
    return _quantize(model, ranges, inputs=None)


def calibrate_int8(
    model: bytes, inputs: Iterable[dict[str, npt.NDArray[Any]]], *, ranges: Path
) -> bytes:
    """Measure `model`'s activation ranges on `inputs` (one feed per call), write them to
    `ranges` and return the model quantised with them, as `quantize_int8` will."""
    ranges.unlink(missing_ok=True)
    return _quantize(model, ranges, inputs=inputs)


def _quantize(
    model: bytes, ranges: Path, *, inputs: Iterable[dict[str, npt.NDArray[Any]]] | None
) -> bytes:
    import inspect

    import onnx
    from onnxruntime import quantization as q

    if "calibration_cache_path" not in inspect.signature(q.quantize_static).parameters:
        raise ModelUnavailable(
            f"precision int8 needs onnxruntime 1.28 or later (its calibration cache); "
            f"{version()} is installed"
        )
    enums = {
        "quant_format": q.QuantFormat,
        "activation_type": q.QuantType,
        "weight_type": q.QuantType,
        "calibrate_method": q.CalibrationMethod,
    }
    arguments = {
        name: enums[name][str(value)] if name in enums else value for name, value in _INT8.items()
    }
    with tempfile.TemporaryDirectory(prefix="facegate-int8-") as folder, _quiet_root_logger():
        output = Path(folder) / "int8.onnx"
        q.quantize_static(
            onnx.load_from_string(model),
            output,
            None if inputs is None else _Feeds(inputs),
            **arguments,
            calibration_cache_path=ranges,
        )
        return output.read_bytes()


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """`onnxruntime.quantization` logs advice ("consider pre-processing") on the root logger at
    every quantisation: a server would print it at every start with `precision` int8. The root
    logger is raised to ERROR while it runs (once, while the model set loads)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


class _Feeds:
    """A `CalibrationDataReader` as the calibrators use one: `get_next` until None."""

    def __init__(self, feeds: Iterable[dict[str, npt.NDArray[Any]]]) -> None:
        self._feeds = iter(feeds)

    def get_next(self) -> dict[str, npt.NDArray[Any]] | None:
        return next(self._feeds, None)
