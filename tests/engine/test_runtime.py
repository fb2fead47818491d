"""facegate.engine.runtime: providers by device setting, session options, loading models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper

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


def test_cpu_device_uses_only_the_cpu_provider():
    assert runtime.providers("cpu") == ["CPUExecutionProvider"]


def test_auto_device_uses_cuda_only_when_available():
    expected = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if not runtime.cuda_available():
        expected = ["CPUExecutionProvider"]
    assert runtime.providers("auto") == expected


@pytest.mark.skipif(runtime.cuda_available(), reason="this machine has CUDA")
def test_cuda_device_without_cuda_names_the_package():
    with pytest.raises(ModelUnavailable, match="onnxruntime-gpu"):
        runtime.providers("cuda")


def test_session_options_follow_settings():
    options = runtime.session_options(3)
    assert options.intra_op_num_threads == 3
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.graph_optimization_level == runtime.ort.GraphOptimizationLevel.ORT_ENABLE_ALL


def test_create_session_from_bytes_and_from_a_path(tmp_path: Path):
    model = _identity_model()
    path = tmp_path / "identity.onnx"
    path.write_bytes(model)
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    for source in (model, path):
        session = runtime.create_session(source, options=engine_options(threads=1, device="cpu"))
        (y,) = session.run(None, {"x": x})
        assert y.tolist() == [[1.0, 2.0]]
