"""Builds the ONNX graph equivalent to a parsed dlib network (see dlib_onnx/reader.py).

Graph contract: input `chips` uint8 [N, rows, cols, 3] RGB (what `dlib.get_face_chips` returns),
output `descriptor` float32 [N, 128], unnormalised like dlib's. The input convention
((pixel - mean) / 256) lives inside the graph; affine layers are folded into their convolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from facegate.engine.convert.dlib.reader import (
    AddPrev,
    Affine,
    Conv,
    Fc,
    Layer,
    Network,
    Pool,
    Relu,
    Skip,
    Tag,
)

OPSET = 17
# The IR version that goes with opset 17; newer `onnx` packages default to IR versions that
# older ONNX Runtime releases refuse to load.
IR_VERSION = 8
INPUT_NAME = "chips"
OUTPUT_NAME = "descriptor"

Shape = tuple[int, int, int]  # channels, rows, cols of one sample


@dataclass
class _Graph:
    """Nodes and weights being collected, with a counter for unique tensor names."""

    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    count: int = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count}"

    def constant(self, prefix: str, value: np.ndarray) -> str:
        name = self.name(prefix)
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], prefix: str, **attrs: Any) -> str:
        output = self.name(prefix)
        self.nodes.append(helper.make_node(op, inputs, [output], output, **attrs))
        return output


def fold_affines(layers: tuple[Layer, ...]) -> list[Layer]:
    """Merge each Affine that directly follows a Conv into it: W*gamma, b*gamma + beta."""
    folded: list[Layer] = []
    for layer in layers:
        previous = folded[-1] if folded else None
        if isinstance(layer, Affine) and isinstance(previous, Conv):
            scale = layer.gamma.reshape(-1, 1, 1, 1)
            folded[-1] = Conv(
                weights=(previous.weights * scale).astype(np.float32),
                bias=(previous.bias * layer.gamma + layer.beta).astype(np.float32),
                stride=previous.stride,
                padding=previous.padding,
            )
        else:
            folded.append(layer)
    return folded


def _out_size(size: int, kernel: int, stride: int, pad: int) -> int:
    return 1 + (size + 2 * pad - kernel) // stride


def _pad_to(graph: _Graph, tensor: str, shape: Shape, target: Shape) -> str:
    """Zero-pad at the end of the channel, row and column axes (dlib's add_prev rule)."""
    if shape == target:
        return tensor
    ends = [0] + [t - s for s, t in zip(shape, target, strict=True)]
    pads = graph.constant("pads", np.array([0, 0, 0, 0, *ends], dtype=np.int64))
    return graph.node("Pad", [tensor, pads], "pad", mode="constant")


def _add_prev(graph: _Graph, a: tuple[str, Shape], b: tuple[str, Shape]) -> tuple[str, Shape]:
    """dlib's add_prev: the output has the per-axis larger shape; each operand is zero outside."""
    (sa, sb) = (a[1], b[1])
    target: Shape = (max(sa[0], sb[0]), max(sa[1], sb[1]), max(sa[2], sb[2]))
    padded = [_pad_to(graph, tensor, shape, target) for tensor, shape in (a, b)]
    return graph.node("Add", padded, "add_prev"), target


def _conv(graph: _Graph, x: str, shape: Shape, conv: Conv) -> tuple[str, Shape]:
    out_channels, _, kh, kw = conv.weights.shape
    (sy, sx), (py, px) = conv.stride, conv.padding
    w = graph.constant("conv_w", conv.weights)
    b = graph.constant("conv_b", conv.bias)
    y = graph.node(
        "Conv", [x, w, b], "conv", kernel_shape=[kh, kw], strides=[sy, sx], pads=[py, px, py, px]
    )
    return y, (out_channels, _out_size(shape[1], kh, sy, py), _out_size(shape[2], kw, sx, px))


def _affine(graph: _Graph, x: str, affine: Affine) -> str:
    gamma = graph.constant("gamma", affine.gamma.reshape(-1, 1, 1))
    beta = graph.constant("beta", affine.beta.reshape(-1, 1, 1))
    return graph.node("Add", [graph.node("Mul", [x, gamma], "scale"), beta], "shift")


def _pool(graph: _Graph, x: str, shape: Shape, pool: Pool) -> tuple[str, Shape]:
    # Kernel (0, 0) is dlib's "*_pool_everything": the window is the whole input.
    (kh, kw) = (shape[1], shape[2]) if pool.kernel == (0, 0) else pool.kernel
    (sy, sx), (py, px) = pool.stride, pool.padding
    attrs: dict[str, Any] = {
        "kernel_shape": [kh, kw],
        "strides": [sy, sx],
        "pads": [py, px, py, px],
    }
    if pool.kind == "avg":
        # dlib divides by the number of in-image pixels of each window.
        attrs["count_include_pad"] = 0
    op = "MaxPool" if pool.kind == "max" else "AveragePool"
    y = graph.node(op, [x], pool.kind + "pool", **attrs)
    return y, (shape[0], _out_size(shape[1], kh, sy, py), _out_size(shape[2], kw, sx, px))


def _fc(graph: _Graph, x: str, fc: Fc) -> str:
    flat = graph.node("Flatten", [x], "flatten", axis=1)  # C, H, W order, as dlib
    y = graph.node("MatMul", [flat, graph.constant("fc_w", fc.weights)], "fc")
    if fc.bias is not None:
        y = graph.node("Add", [y, graph.constant("fc_b", fc.bias)], "fc_bias")
    return y


def _input(graph: _Graph, network: Network) -> str:
    x = graph.node("Cast", [INPUT_NAME], "cast", to=TensorProto.FLOAT)
    mean = graph.constant("mean", np.array(network.input.mean, dtype=np.float32))
    x = graph.node("Sub", [x, mean], "center")
    # dlib divides by 256, not 255; a power of two, so the multiplication is exact.
    scale = graph.constant("scale", np.array([1 / 256], dtype=np.float32))
    x = graph.node("Mul", [x, scale], "normalize")
    return graph.node("Transpose", [x], "nchw", perm=[0, 3, 1, 2])


def build_model(network: Network) -> onnx.ModelProto:
    """The ONNX model computing dlib's descriptors from uint8 RGB chips, dynamic batch."""
    last = network.layers[-1] if network.layers else None
    if not isinstance(last, Fc):
        raise ValueError("the network must end with a fully connected layer")
    graph = _Graph()
    x = _input(graph, network)
    shape: Shape = (3, network.input.rows, network.input.cols)
    tags: dict[int, tuple[str, Shape]] = {}
    for layer in fold_affines(network.layers):
        if isinstance(layer, Conv):
            x, shape = _conv(graph, x, shape, layer)
        elif isinstance(layer, Affine):
            x = _affine(graph, x, layer)
        elif isinstance(layer, Relu):
            x = graph.node("Relu", [x], "relu")
        elif isinstance(layer, Pool):
            x, shape = _pool(graph, x, shape, layer)
        elif isinstance(layer, Tag):
            tags[layer.id] = (x, shape)
        elif isinstance(layer, Skip):
            x, shape = tags[layer.id]
        elif isinstance(layer, AddPrev):
            x, shape = _add_prev(graph, (x, shape), tags[layer.id])
        else:
            x = _fc(graph, x, layer)
    graph.nodes[-1].output[0] = OUTPUT_NAME
    outputs = last.weights.shape[1]
    onnx_graph = helper.make_graph(
        graph.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [
            helper.make_tensor_value_info(
                INPUT_NAME, TensorProto.UINT8, ["N", network.input.rows, network.input.cols, 3]
            )
        ],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", outputs])],
        graph.initializers,
    )
    model = helper.make_model(
        onnx_graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="facegate",
        doc_string="dlib_face_recognition_resnet_model_v1 converted by facegate (engine/convert)",
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def export_bytes(network: Network) -> bytes:
    """The serialized ONNX model for `network`."""
    data: bytes = build_model(network).SerializeToString()
    return data
