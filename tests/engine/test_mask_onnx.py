"""The mask classifier converted from Keras HDF5 to ONNX: the reader, and the graph matched to a
plain numpy forward pass of the same layers (no folding, channels last) on real face crops."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt
import pytest

from facegate.engine import runtime
from facegate.engine.convert.mask import model_file
from facegate.engine.convert.mask.export import (
    INPUT_NAME,
    LOGITS_NAME,
    OUTPUT_NAME,
    export_bytes,
    folded_convolutions,
    same_padding,
)
from facegate.engine.convert.mask.reader import (
    Act,
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
    Relu,
    ZeroPadding,
    read_model,
)
from facegate.engine.face_engine import FaceEngine
from facegate.engine.faces import FaceRequest
from facegate.engine.mask import MaskClassifier
from tests.support import engine_options
from tests.support.masks import draw_masks

Array = npt.NDArray[np.float64]


@pytest.fixture(scope="module")
def keras() -> KerasModel:
    return read_model(model_file.source_path())


# --- the reference: Keras semantics in numpy, float64, NHWC -------------------------------------


def _pad_same(x: Array, kernel: tuple[int, int], strides: tuple[int, int]) -> Array:
    pads = []
    for size, k, s in zip(x.shape[1:3], kernel, strides, strict=True):
        out = (size + s - 1) // s
        total = max((out - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))


def _windows(x: Array, kh: int, kw: int, strides: tuple[int, int]) -> list[tuple[int, int, Array]]:
    sy, sx = strides
    rows, cols = (x.shape[1] - kh) // sy + 1, (x.shape[2] - kw) // sx + 1
    return [
        (i, j, x[:, i : i + rows * sy : sy, j : j + cols * sx : sx, :])
        for i in range(kh)
        for j in range(kw)
    ]


def _conv(x: Array, op: Conv) -> Array:
    kernel = op.kernel.astype(np.float64)
    kh, kw = kernel.shape[:2]
    if op.padding == "same":
        x = _pad_same(x, (kh, kw), op.strides)
    if op.depthwise:  # (H, W, C, M): output channel c * M + m
        total = sum(w[..., :, None] * kernel[i, j] for i, j, w in _windows(x, kh, kw, op.strides))
        y = total.reshape(*total.shape[:3], -1)
    else:
        y = sum(w @ kernel[i, j] for i, j, w in _windows(x, kh, kw, op.strides))
    if op.bias is not None:
        y = y + op.bias
    return _activate(y, op.activation)


def _activate(x: Array, activation: str) -> Array:
    if activation == "relu":
        return np.maximum(x, 0)
    if activation == "relu6":
        return np.clip(x, 0, 6)
    if activation == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    assert activation == "linear"
    return x


def forward(model: KerasModel, crops: npt.NDArray[np.uint8]) -> tuple[Array, Array]:
    """Probabilities and the last Dense's pre-activation values, as Keras computes them."""
    values: dict[str, Array] = {}
    logits = np.zeros(0)
    for layer in model.layers:
        op = layer.op
        x = values[layer.inputs[0]] if layer.inputs else crops.astype(np.float64) / 127.5 - 1
        if isinstance(op, Input):
            y = x
        elif isinstance(op, ZeroPadding):
            y = np.pad(x, ((0, 0), op.rows, op.cols, (0, 0)))
        elif isinstance(op, Conv):
            y = _conv(x, op)
        elif isinstance(op, BatchNorm):
            y = (x - op.mean) / np.sqrt(op.variance.astype(np.float64) + op.epsilon)
            y = y * op.gamma + op.beta
        elif isinstance(op, Relu):
            y = np.maximum(x, 0) if op.max_value is None else np.clip(x, 0, op.max_value)
        elif isinstance(op, Act):
            y = _activate(x, op.activation)
        elif isinstance(op, Add):
            y = sum(values[name] for name in layer.inputs)
        elif isinstance(op, AveragePool):
            (ph, pw), strides = op.pool, op.strides
            y = sum(w for _, _, w in _windows(x, ph, pw, strides)) / (ph * pw)
        elif isinstance(op, GlobalAveragePool):
            y = x.mean(axis=(1, 2))
        elif isinstance(op, Flatten):
            y = x.reshape(len(x), -1)
        elif isinstance(op, Dense):
            logits = x @ op.kernel.astype(np.float64) + (0 if op.bias is None else op.bias)
            y = _activate(logits, op.activation)
        else:
            assert isinstance(op, Identity)
            y = x
        values[layer.name] = y
    return values[model.output], logits


# --- tests ----------------------------------------------------------------------------------------


def test_reader_finds_mobilenet_v2_with_its_head(keras: KerasModel):
    kinds = Counter(type(layer.op).__name__ for layer in keras.layers)
    assert kinds == {
        "Conv": 52,  # 35 Conv2D + 17 DepthwiseConv2D
        "BatchNorm": 52,
        "Relu": 35,
        "Add": 10,
        "ZeroPadding": 5,
        "Dense": 2,
        "Input": 1,
        "AveragePool": 1,
        "Flatten": 1,
        "Identity": 1,
    }
    assert keras.input.shape == (224, 224, 3)
    assert keras.output == "dense_1"
    last = keras.layers[-1].op
    assert isinstance(last, Dense) and last.kernel.shape == (128, 2)
    assert last.activation == "softmax"
    # Every convolution is followed by its batch norm, so all of them fold.
    assert len(folded_convolutions(keras)) == 52


def test_reader_weights_are_the_stored_arrays(keras: KerasModel):
    with h5py.File(model_file.source_path(), "r") as file:
        stored = file["model_weights/block_1_depthwise/block_1_depthwise/depthwise_kernel:0"][()]
    (layer,) = [layer for layer in keras.layers if layer.name == "block_1_depthwise"]
    assert isinstance(layer.op, Conv) and layer.op.depthwise
    assert np.array_equal(layer.op.kernel, stored)
    assert layer.op.strides == (2, 2) and layer.op.padding == "valid"


def test_reader_refuses_other_files(tmp_path: Path):
    with pytest.raises(KerasFormatError, match="not an HDF5 file"):
        read_model(b"not hdf5")
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as file:
        file.attrs["x"] = 1
    with pytest.raises(KerasFormatError, match="not a Keras model"):
        read_model(path)


def test_reader_names_an_unsupported_layer(tmp_path: Path):
    config = {
        "class_name": "Model",
        "config": {
            "name": "m",
            "layers": [
                {
                    "name": "input_1",
                    "class_name": "InputLayer",
                    "config": {"batch_input_shape": [None, 8, 8, 3]},
                    "inbound_nodes": [],
                },
                {
                    "name": "lstm",
                    "class_name": "LSTM",
                    "config": {},
                    "inbound_nodes": [[["input_1", 0, 0, {}]]],
                },
            ],
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [["lstm", 0, 0]],
        },
    }
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as file:
        file.attrs["model_config"] = json.dumps(config)
        file.create_group("model_weights")
    with pytest.raises(KerasFormatError, match="layer lstm: Keras layer 'LSTM'"):
        read_model(path)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "pads"),
    [(224, 3, 1, (1, 1)), (224, 3, 2, (0, 1)), (7, 1, 1, (0, 0)), (5, 4, 1, (1, 2))],
)
def test_same_padding_puts_the_odd_pixel_after(size: int, kernel: int, stride: int, pads: Any):
    assert same_padding(size, kernel, stride) == pads


def _face_crops(faces_dir: Path, engine: FaceEngine) -> npt.NDArray[np.uint8]:
    """The crops the plugin cuts: every face of three photos, and one with a drawn mask."""
    from facegate.engine import images

    crops = []
    for name in ("fr_obama.jpg", "knn_test_obama_and_biden.jpg", "fp_kate_siegel.jpg"):
        photo = (faces_dir / name).read_bytes()
        analysis = engine.analyze(photo, FaceRequest(plugins=frozenset({"landmarks68"})))
        points = [face.landmarks68 or [] for face in analysis.faces]
        for data in (photo, draw_masks(photo, points, "blue")):
            pixels = images.decode(data, max_image_pixels=10**8).pixels
            found = engine.analyze(data, FaceRequest(plugins=frozenset()))
            boxes = np.array(
                [[f.box.x_min, f.box.y_min, f.box.x_max, f.box.y_max] for f in found.faces],
                dtype=np.float32,
            )
            crops.append(MaskClassifier.crops(pixels, boxes))
    return np.concatenate(crops)


def test_onnx_graph_matches_the_numpy_forward_pass(
    keras: KerasModel, faces_dir: Path, face_engine: FaceEngine
):
    crops = _face_crops(faces_dir, face_engine)
    assert len(crops) >= 8  # 5 faces, and most of them again with a mask
    session = runtime.create_session(export_bytes(keras), options=engine_options())
    probabilities, logits = session.run([OUTPUT_NAME, LOGITS_NAME], {INPUT_NAME: crops})
    expected_probabilities, expected_logits = forward(keras, crops)
    np.testing.assert_allclose(logits, expected_logits, atol=1e-4, rtol=0)
    np.testing.assert_allclose(probabilities, expected_probabilities, atol=1e-4, rtol=0)
    # The crops are real: both classes occur (masked and unmasked faces).
    assert set(expected_probabilities.argmax(axis=1)) == {0, 1}


def test_model_file_written_once_with_checksums(tmp_path: Path):
    options = engine_options(data_dir=tmp_path)
    path = model_file.build_model_file(options)
    recorded = model_file.model_file(options).recorded()
    assert set(recorded) == {path.name, str(model_file.source_path())}
    stat = path.stat()
    assert model_file.load_model(options) == path.read_bytes()
    assert path.stat().st_mtime_ns == stat.st_mtime_ns  # reused, not converted again
