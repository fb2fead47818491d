"""The ONNX graph built from dlib's network: its contract, and layer semantics on a tiny network."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import pytest

from facegate.engine.convert.dlib.export import (
    IR_VERSION,
    OPSET,
    build_model,
    export_bytes,
    fold_affines,
)
from facegate.engine.convert.dlib.reader import (
    AddPrev,
    Affine,
    Conv,
    Fc,
    InputRGB,
    Network,
    Pool,
    Relu,
    Skip,
    Tag,
    read_network,
)
from facegate.engine.dlib.embedder import source_path
from facegate.engine.runtime import create_session
from tests.support import engine_options

RNG = np.random.default_rng(7)


def _f32(*shape: int) -> npt.NDArray[np.float32]:
    return RNG.normal(size=shape).astype(np.float32)


@pytest.fixture(scope="module")
def real_model() -> onnx.ModelProto:
    return build_model(read_network(source_path()))


def test_contract(real_model: onnx.ModelProto) -> None:
    assert real_model.opset_import[0].version == OPSET == 17
    assert real_model.ir_version == IR_VERSION
    (chips,) = real_model.graph.input
    (descriptor,) = real_model.graph.output
    assert chips.name == "chips" and descriptor.name == "descriptor"
    assert chips.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert descriptor.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = [(d.dim_param or d.dim_value) for d in chips.type.tensor_type.shape.dim]
    assert dims == ["N", 150, 150, 3]  # dynamic batch, HWC RGB as dlib.get_face_chips gives
    assert [(d.dim_param or d.dim_value) for d in descriptor.type.tensor_type.shape.dim] == [
        "N",
        128,
    ]


def test_affines_folded_and_shortcuts_padded(real_model: onnx.ModelProto) -> None:
    ops = Counter(node.op_type for node in real_model.graph.node)
    assert ops["Conv"] == 29
    assert ops["Mul"] == 1  # only the input's /256: every affine went into its convolution
    # Zero-padded operands of the down blocks: the channel-short pooled skip in alevel3-1, the 3x3
    # conv branch of alevel1 (to 4x4) and the 1x1 conv branch of alevel0 (to 2x2).
    assert ops["Pad"] == 5
    assert ops["Add"] == 14  # the add_prev layers
    assert ops["MatMul"] == 1 and ops["AveragePool"] == 5 and ops["MaxPool"] == 1


def _tiny_network() -> Network:
    """5x5 input; a 5x5 conv branch (1x1, 4 channels) added to a pooled 2x2, 3-channel skip."""
    return Network(
        loss="loss_metric_2",
        input=InputRGB(mean=(10.0, 20.0, 30.0), rows=5, cols=5),
        layers=(
            Tag(1),
            Conv(weights=_f32(4, 3, 5, 5), bias=_f32(4), stride=(1, 1), padding=(0, 0)),
            Affine(gamma=_f32(4), beta=_f32(4)),
            Tag(2),
            Skip(1),
            Pool(kind="avg", kernel=(2, 2), stride=(2, 2), padding=(0, 0)),
            AddPrev(2),
            Relu(),
            Affine(gamma=_f32(4), beta=_f32(4)),  # not after a conv: stays a Mul + Add
            Pool(kind="avg", kernel=(0, 0), stride=(1, 1), padding=(0, 0)),
            Fc(weights=_f32(4, 2), bias=_f32(2)),
        ),
    )


def _reference(network: Network, chip: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """The tiny network's output computed the way dlib defines each layer."""
    conv, affine, pool_skip, last_affine, fc = (network.layers[i] for i in (1, 2, 5, 8, 10))
    assert isinstance(conv, Conv) and isinstance(affine, Affine) and isinstance(fc, Fc)
    assert isinstance(last_affine, Affine) and isinstance(pool_skip, Pool)
    x = (chip.astype(np.float64) - np.array(network.input.mean)) / 256
    x = x.transpose(2, 0, 1)  # 3x5x5
    y = np.einsum("oihw,ihw->o", conv.weights, x) + conv.bias  # 4 channels, 1x1
    y = y * affine.gamma + affine.beta
    pooled = x[:, :4, :4].reshape(3, 2, 2, 2, 2).mean(axis=(2, 4))  # 3x2x2
    total = np.zeros((4, 2, 2))  # per-axis max shape; each operand zero beyond its extent
    total[:, 0, 0] += y
    total[:3] += pooled
    total = (
        np.maximum(total, 0) * last_affine.gamma[:, None, None] + last_affine.beta[:, None, None]
    )
    assert fc.bias is not None
    result: npt.NDArray[np.float64] = total.mean(axis=(1, 2)) @ fc.weights + fc.bias
    return result


def test_tiny_network_matches_dlib_semantics(tmp_path: Path) -> None:
    network = _tiny_network()
    session = create_session(
        export_bytes(network), options=engine_options(data_dir=tmp_path, threads=1)
    )
    chips = RNG.integers(0, 256, size=(3, 5, 5, 3), dtype=np.uint8)
    (output,) = session.run(None, {"chips": chips})
    assert output.shape == (3, 2) and output.dtype == np.float32
    expected = np.stack([_reference(network, chip) for chip in chips])
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-5)


def test_fold_affines_merges_conv_and_affine() -> None:
    network = _tiny_network()
    folded = fold_affines(network.layers)
    assert len(folded) == len(network.layers) - 1
    conv, affine, merged = network.layers[1], network.layers[2], folded[1]
    assert isinstance(conv, Conv) and isinstance(affine, Affine) and isinstance(merged, Conv)
    np.testing.assert_allclose(
        merged.weights, conv.weights * affine.gamma[:, None, None, None], rtol=1e-6
    )
    np.testing.assert_allclose(merged.bias, conv.bias * affine.gamma + affine.beta, rtol=1e-6)
    assert isinstance(folded[7], Affine)  # after a ReLU, there is no conv to fold into


def test_network_must_end_with_fc() -> None:
    network = _tiny_network()
    with pytest.raises(ValueError, match="fully connected"):
        build_model(Network(loss=network.loss, input=network.input, layers=network.layers[:-1]))
