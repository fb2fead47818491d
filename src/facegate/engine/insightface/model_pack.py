"""An InsightFace model pack: a folder of ONNX files, each file's role read from its inputs and
outputs, never from its name (users rename files, and packs name the same role differently)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import onnx

from facegate.errors import ModelUnavailable

# Outputs of the roles facegate runs (InsightFace `model_zoo.get_model` tells them apart the
# same way): SCRFD has 3 or 5 strides x (score, box, 5 keypoints); the 106-point model 212
# values; the gender/age model 3 (two gender logits and age / 100).
DETECTOR_LEVELS = (3, 5)
LANDMARKS106_VALUES = 212
GENDERAGE_VALUES = 3
RECOGNIZER_SIZE = 112
# InsightFace's 3D 68-point model (1k3d68.onnx, 3309 outputs) ships in buffalo packs; facegate
# has no plugin for it and skips the file rather than refusing the pack.
IGNORED_OUTPUTS = {3309: "3D 68-point landmarks (not used by facegate)"}


class Role(StrEnum):
    DETECTOR = "detector"
    RECOGNIZER = "recognizer"
    LANDMARKS106 = "landmarks2d106"
    GENDERAGE = "genderage"


@dataclass(frozen=True)
class PackFile:
    path: Path
    role: Role
    sha256: str
    # Whether the graph scales raw 0..255 pixels itself (a leading Sub and Mul, as the 106-point
    # and gender/age models have); otherwise inputs are normalised by the caller.
    takes_raw_pixels: bool


@dataclass(frozen=True)
class Pack:
    """The recognised files of one pack folder, by role (detector and recogniser required)."""

    folder: Path
    files: dict[Role, PackFile]

    def get(self, role: Role) -> PackFile | None:
        return self.files.get(role)

    def __getitem__(self, role: Role) -> PackFile:
        return self.files[role]


def _dims(value_info: onnx.ValueInfoProto) -> list[int | None]:
    shape = value_info.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else None for d in shape.dim]


def _role(model: onnx.ModelProto, path: Path) -> Role | None:
    """The role of one graph from its input and output shapes; None for a known unused role."""
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    outputs = list(model.graph.output)
    if len(inputs) != 1:
        raise ModelUnavailable(f"Model file {path} has {len(inputs)} inputs; expected one image")
    dims = _dims(inputs[0])
    if len(dims) != 4 or dims[1] != 3:
        raise ModelUnavailable(f"Model file {path} does not take N x 3 x H x W images: {dims}")
    size = dims[2:]
    if len(outputs) // 3 in DETECTOR_LEVELS and len(outputs) % 3 == 0:
        last = [_dims(o)[-1] for o in outputs]
        levels = len(outputs) // 3
        if last == [1] * levels + [4] * levels + [10] * levels:
            return Role.DETECTOR
        raise ModelUnavailable(
            f"Model file {path} looks like a detector but its outputs are not score/box/"
            f"5-keypoint groups per stride (last dimensions {last}); facegate needs keypoints"
        )
    if len(outputs) != 1:
        raise ModelUnavailable(f"Model file {path}: {len(outputs)} outputs match no known role")
    values = _dims(outputs[0])[-1]
    if size == [RECOGNIZER_SIZE, RECOGNIZER_SIZE]:
        return Role.RECOGNIZER
    if values == LANDMARKS106_VALUES:
        return Role.LANDMARKS106
    if values == GENDERAGE_VALUES:
        return Role.GENDERAGE
    if values in IGNORED_OUTPUTS:
        return None
    raise ModelUnavailable(
        f"Model file {path} matches no role facegate knows (input {dims}, output {values} "
        "values): expected a face detector, a 112x112 recogniser, 106 landmarks or gender/age"
    )


def _takes_raw_pixels(model: onnx.ModelProto) -> bool:
    ops = [node.op_type for node in model.graph.node[:2]]
    return ops == ["Sub", "Mul"]


def read_file(path: Path) -> PackFile | None:
    """One model file and its role (None: a known role facegate does not use); ModelUnavailable
    naming the file when it is missing, unreadable or of no known role."""
    if not path.is_file():
        raise ModelUnavailable(f"Model file {path} is missing")
    data = path.read_bytes()
    try:
        model = onnx.load_from_string(data)
    except Exception as exc:  # protobuf raises several unrelated types for broken bytes
        raise ModelUnavailable(f"Model file {path} is not a readable ONNX model: {exc}") from None
    role = _role(model, path)
    if role is None:
        return None
    return PackFile(path, role, hashlib.sha256(data).hexdigest(), _takes_raw_pixels(model))


def read(folder: Path, names: Sequence[str] | None = None) -> Pack:
    """The .onnx files of `folder` (or only `names` in it) by role; ModelUnavailable naming the
    file that is missing, unreadable, of a wrong shape, or a second file for one role."""
    if not folder.is_dir():
        raise ModelUnavailable(f"Model pack folder {folder} does not exist")
    paths = sorted(folder.glob("*.onnx")) if names is None else [folder / n for n in names]
    files: dict[Role, PackFile] = {}
    for path in paths:
        file = read_file(path)
        if file is None:
            continue
        if file.role in files:
            raise ModelUnavailable(
                f"Model files {files[file.role].path} and {path} are both a {file.role}; keep one"
            )
        files[file.role] = file
    for required in (Role.DETECTOR, Role.RECOGNIZER):
        if required not in files:
            raise ModelUnavailable(f"Model pack {folder} has no {required} (.onnx) file")
    return Pack(folder, files)
