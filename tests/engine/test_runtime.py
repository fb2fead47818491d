"""facegate.engine.runtime: providers by device setting, session options, loading models."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper
from PIL import Image

from facegate.engine import runtime
from facegate.errors import ModelUnavailable
from tests.support import engine_options


def _identity_model() -> bytes:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


CPU, CUDA, OPENVINO = runtime.CPU, runtime.CUDA, runtime.OPENVINO
OPENVINO_CPU = (OPENVINO, {"device_type": "CPU"})


def test_cpu_device_uses_only_the_cpu_provider():
    assert runtime.providers("cpu") == ["CPUExecutionProvider"]
    assert runtime.providers("cpu", available=[CUDA, OPENVINO, CPU]) == [CPU]


@pytest.mark.parametrize(
    ("device", "available", "expected"),
    [
        # auto: the accelerator the installed build offers, the CPU as the fallback.
        ("auto", [CPU], [CPU]),
        ("auto", [CUDA, CPU], [CUDA, CPU]),
        ("auto", [OPENVINO, CPU], [OPENVINO_CPU, CPU]),
        ("cuda", [CUDA, CPU], [CUDA, CPU]),
        ("openvino", [OPENVINO, CPU], [OPENVINO_CPU, CPU]),
    ],
)
def test_providers_by_device_and_build(device, available, expected):
    assert runtime.providers(device, available=available) == expected


def test_openvino_device_type_is_passed_on():
    chosen = runtime.providers("openvino", openvino_device="GPU", available=[OPENVINO, CPU])
    assert chosen == [(OPENVINO, {"device_type": "GPU"}), CPU]


@pytest.mark.parametrize("device", ["cuda", "openvino"])
def test_an_accelerator_the_build_lacks_is_named(device):
    with pytest.raises(ModelUnavailable, match=f"facegate\\[{device}\\]"):
        runtime.providers(device, available=[CPU])


def test_session_options_follow_settings():
    options = runtime.session_options(3)
    assert options.intra_op_num_threads == 3
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.graph_optimization_level == runtime.ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # The process's one CPU arena (decisions.md D88).
    assert options.get_session_config_entry("session.use_env_allocators") == "1"


def test_sessions_created_at_once_from_several_threads_share_the_arena():
    """Plugins' models load at their first requests, which may come together."""
    model, options = _identity_model(), engine_options(threads=1, device="cpu")
    with ThreadPoolExecutor(4) as pool:
        created = [pool.submit(runtime.create_session, model, options=options) for _ in range(4)]
    sessions = [future.result() for future in created]
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    assert all(session.run(None, {"x": x})[0].tolist() == [[1.0, 2.0]] for session in sessions)


def test_create_session_from_bytes_and_from_a_path(tmp_path: Path):
    model = _identity_model()
    path = tmp_path / "identity.onnx"
    path.write_bytes(model)
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    for source in (model, path):
        session = runtime.create_session(source, options=engine_options(threads=1, device="cpu"))
        (y,) = session.run(None, {"x": x})
        assert y.tolist() == [[1.0, 2.0]]


@pytest.mark.skipif(
    OPENVINO not in runtime.available_providers(),
    reason="onnxruntime-openvino is not the installed ONNX Runtime build (docs/gpu.md)",
)
def test_openvino_embeds_as_the_cpu_provider(faces_dir: Path, tmp_path: Path):
    """OpenVINO's CPU device gives the CPU provider's boxes and embeddings (measured: 1 - cosine
    at most 1.2e-7 on dlib, 1.1e-6 on insightface-s; benchmarks/openvino.py)."""
    from facegate.engine.face_engine import FaceEngine

    def faces(device: str) -> list[Any]:
        options = engine_options(data_dir=tmp_path, device=device, threads=1)
        engine = FaceEngine.create(options)
        found = []
        for photo in ("fr_two_people.jpg", "fr_obama2.jpg"):
            found += engine.analyze((faces_dir / photo).read_bytes()).faces
        return found

    cpu, openvino = faces("cpu"), faces("openvino")
    assert len(cpu) == len(openvino) == 3
    for a, b in zip(cpu, openvino, strict=True):
        corners = (a.box.x_min, a.box.y_min, a.box.x_max, a.box.y_max)
        assert corners == pytest.approx((b.box.x_min, b.box.y_min, b.box.x_max, b.box.y_max), abs=1)
        cosine = np.dot(a.embedding, b.embedding) / (
            np.linalg.norm(a.embedding) * np.linalg.norm(b.embedding)
        )
        assert cosine > 1 - 1e-5


@pytest.mark.parametrize(("threads", "rungs"), [(1, (1,)), (2, (2, 1)), (6, (6, 3, 1))])
def test_a_cpu_network_holds_a_session_per_rung_of_threads(threads: int, rungs: tuple[int, ...]):
    options = engine_options(threads=threads, device="cpu")
    assert runtime.create_session(_identity_model(), options=options).rungs == rungs


@pytest.mark.parametrize(
    ("in_flight", "threads"),
    [(0, 16), (1, 16), (2, 8), (3, 4), (4, 4), (5, 2), (8, 2), (9, 1), (16, 1), (40, 1)],
)
def test_a_run_takes_the_largest_rung_within_each_analysis_share(in_flight: int, threads: int):
    """16 threads: rungs 16, 8, 4, 2, 1; each analysis in flight gets 16 / in_flight at most."""
    network = runtime.Network({rung: None for rung in (16, 8, 4, 2, 1)})  # type: ignore[misc]
    assert network.threads_for(in_flight) == threads


def test_every_rung_gives_the_same_detections(faces_dir: Path):
    """The single-threaded session that runs while other analyses are in flight is the same
    network: its outputs match the full session's."""
    from facegate.engine.model_files import retinaface_weights
    from facegate.engine.retinaface import RetinaFaceDetector

    options = engine_options(threads=2, device="cpu")
    network = runtime.create_session(retinaface_weights(), options=options)
    detector = RetinaFaceDetector(network, max_detect_size=640)
    pixels = np.asarray(Image.open(faces_dir / "fr_two_people.jpg").convert("RGB"))
    batch, _ = detector.prepare(pixels)
    feeds = {network.get_inputs()[0].name: batch}
    alone = network.run(None, feeds)
    with runtime.analysis(), runtime.analysis():
        assert network.threads_for(runtime.analyses_in_flight()) == 1
        crowded = network.run(None, feeds)
    for a, b in zip(alone, crowded, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_an_analysis_counts_itself_while_its_networks_run(
    faces_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """FaceEngine.analyze holds `runtime.analysis()`: alone its networks take every thread;
    beside another analysis, half (4 threads here, whatever the machine's cores)."""
    from facegate.engine.face_engine import FaceEngine

    engine = FaceEngine.create(engine_options(data_dir=tmp_path, threads=4, device="cpu"))
    used: list[int] = []
    real_run = runtime.Network.run

    def spy(network: runtime.Network, outputs: Any, feeds: Any) -> Any:
        used.append(network.threads_for(runtime.analyses_in_flight()))
        return real_run(network, outputs, feeds)

    monkeypatch.setattr(runtime.Network, "run", spy)
    photo = (faces_dir / "fr_obama2.jpg").read_bytes()
    alone = engine.analyze(photo)
    assert used and set(used) == {4}
    used.clear()
    with runtime.analysis():
        beside = engine.analyze(photo)
    assert used and set(used) == {2}
    assert runtime.analyses_in_flight() == 0
    a, b = alone.faces[0].embedding, beside.faces[0].embedding
    assert np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)) > 1 - 1e-6
