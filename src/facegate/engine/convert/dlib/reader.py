"""Reader of dlib's serialized face network (`dlib_face_recognition_resnet_model_v1.dat`).

The file is one `add_loss_layer<loss_metric_, ...>`: the loss details, the version numbers of all
layer wrappers (output side first), the input layer, then each layer's details in forward order.
Tag and skip wrappers store neither their id nor their kind, so the topology comes from the C++
network type (`RESNET_V1`) and the file is checked against it. The encodings and layer meanings
are in docs/decisions.md F1, F2, F3 and F4; the conversion in docs/models.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


class DlibFormatError(ValueError):
    """The bytes do not follow dlib's serialization, or do not match the expected network."""


# --- the network, as plain values -----------------------------------------------------------------


@dataclass(frozen=True)
class InputRGB:
    """`input_rgb_image_sized`: value = (pixel - mean[channel]) / 256, channels R, G, B."""

    mean: tuple[float, float, float]
    rows: int
    cols: int


@dataclass(frozen=True, eq=False)
class Conv:
    """Cross-correlation with symmetric zero padding; weights are OIHW."""

    weights: FloatArray
    bias: FloatArray
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True, eq=False)
class Affine:
    """Frozen batch norm, one gamma and beta per channel: y = x * gamma + beta."""

    gamma: FloatArray
    beta: FloatArray


@dataclass(frozen=True)
class Relu:
    pass


@dataclass(frozen=True)
class Pool:
    """Max or average pooling; kernel (0, 0) means the window is the whole input."""

    kind: Literal["max", "avg"]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True)
class Tag:
    """tagN: marks the current tensor for a later skipN or add_prevN with the same id."""

    id: int


@dataclass(frozen=True)
class Skip:
    """skipN: the current tensor becomes the one marked by the nearest tagN below."""

    id: int


@dataclass(frozen=True)
class AddPrev:
    """add_prevN: current + tagN's tensor, each zero-padded at the end to the larger shape."""

    id: int


@dataclass(frozen=True, eq=False)
class Fc:
    """Fully connected: y = flatten(x) @ weights (+ bias); weights are (inputs, outputs)."""

    weights: FloatArray
    bias: FloatArray | None


Layer = Conv | Affine | Relu | Pool | Tag | Skip | AddPrev | Fc


@dataclass(frozen=True)
class Network:
    """A parsed network: input convention and layers in forward order (input side first)."""

    loss: str
    input: InputRGB
    layers: tuple[Layer, ...]


# --- the topology of dlib_face_recognition_resnet_model_v1 (from dlib's dnn_face_recognition) -----
# Tokens name layer kinds in forward order; tag/skip/add_prev carry their id.

_ARES = ("tag1", "con", "affine", "relu", "con", "affine", "add_prev1", "relu")
_ARES_DOWN = (
    "tag1", "con", "affine", "relu", "con", "affine", "tag2", "skip1", "avg_pool", "add_prev2",
    "relu",
)  # fmt: skip
RESNET_V1: tuple[str, ...] = (
    ("con", "affine", "relu", "max_pool")
    + _ARES * 3  # alevel4
    + _ARES_DOWN
    + _ARES * 3  # alevel3
    + _ARES_DOWN
    + _ARES * 2  # alevel2
    + _ARES_DOWN
    + _ARES * 2  # alevel1
    + _ARES_DOWN  # alevel0
    + ("avg_pool", "fc")
)

# Version strings accepted for each token kind; the file's older ones lack trailing fields.
_KINDS = {
    "con": ("con_4", "con_5", "con_6"),
    "affine": ("affine_", "affine_2"),
    "relu": ("relu_", "relu_2"),
    "max_pool": ("max_pool_2",),
    "avg_pool": ("avg_pool_2",),
    "add_prev": ("add_prev_",),
    "fc": ("fc_2", "fc_3"),
}


def _kind(token: str) -> str:
    return token.rstrip("0123456789")


def _id(token: str) -> int:
    return int(token[len(_kind(token)) :])


# --- primitive decoding ---------------------------------------------------------------------------


class Reader:
    """Decodes dlib's primitive encodings from a byte buffer, tracking the offset."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def error(self, what: str) -> DlibFormatError:
        return DlibFormatError(f"{what} at byte offset {self.pos:#x}")

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise self.error(f"unexpected end of file reading {n} bytes")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def integer(self) -> int:
        """Control byte (low nibble = length, bit 7 = sign), then little-endian magnitude."""
        control = self.data[self.pos] if self.pos < len(self.data) else None
        if control is None:
            raise self.error("unexpected end of file reading an integer")
        size = control & 0x0F
        if control & 0x70 or not 1 <= size <= 8:
            raise self.error(f"invalid integer control byte {control:#04x}")
        self.pos += 1
        magnitude = int.from_bytes(self.take(size), "little")
        return -magnitude if control & 0x80 else magnitude

    def string(self) -> str:
        length = self.integer()
        return self.take(length).decode("latin-1")

    def boolean(self) -> bool:
        byte = self.take(1)
        if byte not in (b"0", b"1"):
            raise self.error(f"invalid bool byte {byte!r}")
        return byte == b"1"

    def scalar(self) -> float:
        """A float or double: mantissa (signed) first, then a 16-bit exponent."""
        if self.pos < len(self.data) and self.data[self.pos] & 0x70:
            raise self.error("legacy ASCII float encoding is not supported")
        mantissa = self.integer()
        exponent = self.integer()
        special = {32000: math.inf, 32001: -math.inf, 32002: math.nan}
        if exponent in special:
            return special[exponent]
        return math.ldexp(mantissa, exponent)

    def tensor(self) -> FloatArray:
        """A `resizable_tensor`: version, shape (n, k, nr, nc), then the float32 values."""
        version = self.integer()
        shape = tuple(self.integer() for _ in range(4))
        count = math.prod(shape)
        if version == 2:
            values = np.frombuffer(self.take(4 * count), dtype="<f4").astype(np.float32)
        elif version == 1:
            values = np.array([self.scalar() for _ in range(count)], dtype=np.float32)
        else:
            raise self.error(f"unknown tensor version {version}")
        return values.reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        """An `alias_tensor`: a shape viewing a slice of a layer's flat params."""
        version = self.integer()
        if version != 1:
            raise self.error(f"unknown alias_tensor version {version}")
        n, k, nr, nc = (self.integer() for _ in range(4))
        return (n, k, nr, nc)

    def expect(self, value: int, what: str) -> None:
        start = self.pos
        found = self.integer()
        if found != value:
            self.pos = start
            raise self.error(f"expected {what} = {value}, found {found}")


# --- layer details --------------------------------------------------------------------------------


def _pair(reader: Reader) -> tuple[int, int]:
    return (reader.integer(), reader.integer())


def _skip_scalars(reader: Reader, count: int) -> None:
    # Learning-rate and weight-decay multipliers: training-only metadata.
    for _ in range(count):
        reader.scalar()


def _conv(reader: Reader, version: str) -> Conv:
    params = reader.tensor().reshape(-1)
    reader.integer()  # num_filters, also given by the filters alias
    kernel = _pair(reader)
    stride = _pair(reader)
    padding = _pair(reader)
    filters = reader.alias()
    biases = reader.alias()
    _skip_scalars(reader, 4)
    use_bias = reader.boolean() if version in ("con_5", "con_6") else True
    if version == "con_6" and reader.boolean():
        raise reader.error("fused ReLU in a convolution (con_6 use_relu) is not supported")
    n_weights = math.prod(filters)
    if filters[2:] != kernel or params.size != n_weights + (biases[1] if use_bias else 0):
        raise reader.error("convolution params do not match their declared shapes")
    weights = params[:n_weights].reshape(filters)
    bias = params[n_weights:] if use_bias else np.zeros(filters[0], dtype=np.float32)
    return Conv(weights=weights, bias=bias, stride=stride, padding=padding)


def _affine(reader: Reader, version: str) -> Affine:
    params = reader.tensor().reshape(-1)
    gamma_shape = reader.alias()
    reader.alias()  # beta has the gamma's shape
    mode = reader.integer()
    if version == "affine_2" and reader.boolean():
        raise reader.error("disabled affine layers are not supported")
    channels = math.prod(gamma_shape)
    if mode != 0 or params.size != 2 * channels:
        raise reader.error("only per-channel (CONV_MODE) affine layers are supported")
    return Affine(gamma=params[:channels], beta=params[channels:])


def _pool(reader: Reader, kind: Literal["max", "avg"]) -> Pool:
    kernel = _pair(reader)
    stride = _pair(reader)
    padding = _pair(reader)
    return Pool(kind=kind, kernel=kernel, stride=stride, padding=padding)


def _fc(reader: Reader, version: str) -> Fc:
    outputs = reader.integer()
    inputs = reader.integer()
    params = reader.tensor().reshape(-1)
    reader.alias()  # weights (inputs, outputs, 1, 1)
    reader.alias()  # biases
    bias_mode = reader.integer()
    _skip_scalars(reader, 4)
    if version == "fc_3":
        reader.boolean()  # use_bias repeats bias_mode
    has_bias = bias_mode == 0
    if params.size != inputs * outputs + (outputs if has_bias else 0):
        raise reader.error("fc params do not match num_inputs x num_outputs")
    weights = params[: inputs * outputs].reshape(inputs, outputs)
    bias = params[inputs * outputs :] if has_bias else None
    return Fc(weights=weights, bias=bias)


def _details(reader: Reader, token: str) -> Layer:
    kind = _kind(token)
    version = reader.string()
    if version not in _KINDS[kind]:
        raise reader.error(f"expected a {kind} layer, found {version!r}")
    if kind == "con":
        return _conv(reader, version)
    if kind == "affine":
        return _affine(reader, version)
    if kind == "relu":
        if version == "relu_2":
            reader.boolean()  # disabled
        return Relu()
    if kind in ("max_pool", "avg_pool"):
        return _pool(reader, "max" if kind == "max_pool" else "avg")
    if kind == "add_prev":
        return AddPrev(_id(token))
    return _fc(reader, version)


def _input(reader: Reader) -> InputRGB:
    name = reader.string()
    if name != "input_rgb_image_sized":
        raise reader.error(f"expected input_rgb_image_sized, found {name!r}")
    red, green, blue = (reader.scalar() for _ in range(3))
    rows, cols = _pair(reader)
    return InputRGB(mean=(red, green, blue), rows=rows, cols=cols)


# --- the whole file -------------------------------------------------------------------------------


def read_network(source: bytes | Path, topology: tuple[str, ...] = RESNET_V1) -> Network:
    """Parse a serialized `loss_metric` network and check it against `topology`."""
    reader = Reader(source.read_bytes() if isinstance(source, Path) else source)
    reader.expect(1, "loss layer version")
    loss = reader.string()
    if loss not in ("loss_metric_", "loss_metric_2"):
        raise reader.error(f"expected a loss_metric network, found {loss!r}")
    if loss == "loss_metric_2":
        _skip_scalars(reader, 2)  # margin, distance threshold: training-only

    # Wrapper versions, output side first: 1 = tag/skip, 2 = layer on a layer, 3 = on the input.
    versions = [reader.integer() for _ in topology][::-1]
    expected = [1 if _kind(t) in ("tag", "skip") else 2 for t in topology]
    expected[0] = 3
    if versions != expected:
        raise reader.error("the layer wrappers do not match the expected topology")

    input_layer = _input(reader)
    layers: list[Layer] = []
    for index, token in enumerate(topology):
        kind = _kind(token)
        if kind == "tag":
            layers.append(Tag(_id(token)))
            continue
        if kind == "skip":
            layers.append(Skip(_id(token)))
            continue
        layers.append(_details(reader, token))
        for _ in range(3):  # setup_called, gradient_input_is_stale, output_and_gradient_disabled
            reader.boolean()
        for _ in range(3):  # gradient and cache tensors, empty in a saved model
            reader.tensor()
        if index == 0:
            reader.integer()  # sample_expansion_factor of the layer on the input
    if reader.pos != len(reader.data):
        raise reader.error(f"{len(reader.data) - reader.pos} trailing bytes after the network")
    return Network(loss=loss, input=input_layer, layers=tuple(layers))
