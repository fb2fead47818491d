"""dlib's serialization: primitive encodings, and the real face network parsed byte for byte."""

from __future__ import annotations

import math
import struct
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from facegate.engine.convert.dlib.reader import (
    RESNET_V1,
    AddPrev,
    Conv,
    DlibFormatError,
    Fc,
    Network,
    Pool,
    Reader,
    Skip,
    Tag,
    read_network,
)
from facegate.engine.dlib.embedder import source_path


@pytest.fixture(scope="module")
def dat_bytes() -> bytes:
    return source_path().read_bytes()


@pytest.fixture(scope="module")
def network(dat_bytes: bytes) -> Network:
    return read_network(dat_bytes)


@pytest.mark.parametrize(
    ("encoded", "value"),
    [("01 00", 0), ("01 02", 2), ("02 80 12", 4736), ("81 11", -17), ("02 00 01", 256)],
)
def test_integer(encoded: str, value: int) -> None:
    reader = Reader(bytes.fromhex(encoded))
    assert reader.integer() == value
    assert reader.pos == len(reader.data)


@pytest.mark.parametrize(
    ("encoded", "value"),
    [
        ("03 62 90 f5 81 11", 0xF59062 * 2**-17),  # 122.782f, the stored red mean
        ("01 10 81 04", 1.0),
        ("01 00 01 0b", 0.0),
        ("03 0a d7 a3 81 1c", 0xA3D70A * 2**-28),  # 0.04f, the loss margin
    ],
)
def test_scalar_is_mantissa_then_exponent(encoded: str, value: float) -> None:
    reader = Reader(bytes.fromhex(encoded))
    assert reader.scalar() == value
    assert reader.pos == len(reader.data)


@pytest.mark.parametrize(("exponent", "check"), [(32000, math.isinf), (32002, math.isnan)])
def test_scalar_specials(exponent: int, check: object) -> None:
    encoded = bytes.fromhex("01 00") + b"\x02" + exponent.to_bytes(2, "little")
    value = Reader(encoded).scalar()
    assert callable(check) and check(value)


def test_string_and_bool() -> None:
    reader = Reader(bytes.fromhex("01 05") + b"relu_" + b"10")
    assert reader.string() == "relu_"
    assert reader.boolean() is True
    assert reader.boolean() is False


def test_tensor_version_2_is_raw_float32() -> None:
    values = struct.pack("<3f", 1.5, -2.0, 0.25)
    reader = Reader(bytes.fromhex("01 02 01 03 01 01 01 01 01 01") + values)
    tensor = reader.tensor()
    assert tensor.shape == (3, 1, 1, 1)
    assert tensor.dtype == np.float32
    np.testing.assert_array_equal(tensor.reshape(-1), [1.5, -2.0, 0.25])


def test_tensor_version_1_stores_scalars() -> None:
    reader = Reader(
        bytes.fromhex("01 01 01 01 01 02 01 01 01 01") + bytes.fromhex("01 10 81 04") * 2
    )
    np.testing.assert_array_equal(reader.tensor().reshape(-1), [1.0, 1.0])


def test_empty_tensor() -> None:
    reader = Reader(bytes.fromhex("01 02 01 00 01 00 01 00 01 00"))
    assert reader.tensor().size == 0


@pytest.mark.parametrize(
    ("encoded", "message"),
    [("", "end of file"), ("09 00", "control byte"), ("31", "control byte"), ("02 01", "end")],
)
def test_bad_integer(encoded: str, message: str) -> None:
    with pytest.raises(DlibFormatError, match=message):
        Reader(bytes.fromhex(encoded)).integer()


def test_legacy_ascii_float_refused() -> None:
    with pytest.raises(DlibFormatError, match="legacy"):
        Reader(b"1.5 ").scalar()


def test_real_network_layer_counts(network: Network) -> None:
    counts = Counter(
        f"{layer.kind}_pool" if isinstance(layer, Pool) else type(layer).__name__.lower()
        for layer in network.layers
    )
    assert counts == {
        "conv": 29,
        "affine": 29,
        "relu": 29,
        "max_pool": 1,
        "avg_pool": 5,
        "addprev": 14,
        "fc": 1,
        "tag": 18,
        "skip": 4,
    }
    assert len(network.layers) == len(RESNET_V1) == 130


def test_real_network_contents(network: Network) -> None:
    assert network.loss == "loss_metric_2"
    assert network.input.rows == network.input.cols == 150
    np.testing.assert_allclose(network.input.mean, (122.782, 117.001, 104.298), atol=1e-4)
    stem = network.layers[0]
    assert isinstance(stem, Conv)
    assert stem.weights.shape == (32, 3, 7, 7)
    assert (stem.stride, stem.padding) == ((2, 2), (0, 0))  # dlib: no padding when stride != 1
    strided = [
        layer for layer in network.layers if isinstance(layer, Conv) and layer.stride[0] == 2
    ]
    assert all(conv.padding == (0, 0) for conv in strided)
    pools = [layer for layer in network.layers if isinstance(layer, Pool)]
    assert pools[0].kind == "max" and pools[0].kernel == (3, 3)
    assert pools[-1].kernel == (0, 0)  # avg_pool_everything
    fc = network.layers[-1]
    assert isinstance(fc, Fc)
    assert fc.weights.shape == (256, 128) and fc.bias is None
    assert isinstance(network.layers[-4], AddPrev) and isinstance(network.layers[-6], Skip)
    assert isinstance(network.layers[4], Tag)


def test_every_byte_is_consumed(dat_bytes: bytes) -> None:
    assert len(dat_bytes) == 22_466_066
    with pytest.raises(DlibFormatError, match="1 trailing bytes"):
        read_network(dat_bytes + b"\x00")


def test_truncated_file(dat_bytes: bytes) -> None:
    with pytest.raises(DlibFormatError, match="end of file"):
        read_network(dat_bytes[:-100])


def test_other_topology_refused(dat_bytes: bytes) -> None:
    swapped = ("affine", "con", *RESNET_V1[2:])
    with pytest.raises(DlibFormatError, match="expected a affine layer, found 'con_4'"):
        read_network(dat_bytes, swapped)
    with pytest.raises(DlibFormatError, match="wrappers do not match"):
        read_network(dat_bytes, (*RESNET_V1[:4], "con", *RESNET_V1[5:]))


def test_reads_from_a_path(network: Network) -> None:
    from_path = read_network(Path(source_path()))
    first = from_path.layers[0]
    assert isinstance(first, Conv) and isinstance(network.layers[0], Conv)
    np.testing.assert_array_equal(first.weights, network.layers[0].weights)
