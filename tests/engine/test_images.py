"""facegate.engine.images: formats, modes, EXIF orientation, reduced-scale decoding and refusals."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from facegate.config import Settings
from facegate.engine.images import decode
from facegate.errors import (
    EmptyImage,
    FileTooLarge,
    ImageError,
    ImageTooLarge,
    NotAnImage,
    TruncatedImage,
)
from facegate.inference import FaceQuery, Inference
from facegate.inference import Image as InferenceImage

SETTINGS = Settings()
PIXELS = SETTINGS.max_image_pixels
PILLOW_DEFAULT_LIMIT = Image.MAX_IMAGE_PIXELS


def _encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _gradient(width: int = 64, height: int = 48) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, axis=0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, axis=1)
    return Image.fromarray(np.stack([x, y, 255 - x], axis=2))


def test_every_manifest_photo_decodes_to_rgb(faces_dir: Path, manifest: list[dict[str, Any]]):
    for entry in manifest:
        data = (faces_dir / entry["file"]).read_bytes()
        decoded = decode(data, max_image_pixels=PIXELS)
        assert decoded.pixels.dtype == np.uint8
        assert decoded.pixels.shape == (decoded.height, decoded.width, 3), entry["file"]
        assert decoded.pixels.flags.c_contiguous
        assert decoded.scale == 1.0


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("PNG", {}),
        ("JPEG", {"quality": 95}),
        ("BMP", {}),
        ("GIF", {}),
        ("TIFF", {}),
        ("WEBP", {"lossless": True}),
        ("ICO", {"sizes": [(64, 48)]}),
        ("HEIF", {"quality": 95}),  # what iPhones write, .heic (pillow-heif's encoder)
    ],
)
def test_every_supported_format(fmt: str, params: dict[str, Any]):
    original = _gradient()
    decoded = decode(_encode(original, fmt, **params), max_image_pixels=PIXELS)
    assert decoded.format == fmt
    assert decoded.pixels.shape == (48, 64, 3)
    tolerance = {"JPEG": 12, "GIF": 40, "HEIF": 12}.get(fmt, 0)
    difference = np.abs(decoded.pixels.astype(int) - np.asarray(original, dtype=int))
    assert difference.mean() <= tolerance


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "1", "I;16"])
def test_every_mode_becomes_rgb(mode: str):
    fmt = "JPEG" if mode == "CMYK" else "TIFF" if mode == "1" else "PNG"
    decoded = decode(_encode(_gradient().convert(mode), fmt), max_image_pixels=PIXELS)
    assert decoded.pixels.shape == (48, 64, 3)
    assert decoded.pixels.dtype == np.uint8


def test_a_heic_photo_gives_the_faces_of_its_jpeg(faces_dir: Path, face_engine: Any):
    """An iPhone's photo: HEIC made here from a shared JPEG, with pillow-heif."""
    jpeg = (faces_dir / "fr_obama2.jpg").read_bytes()
    heic = _encode(Image.open(io.BytesIO(jpeg)), "HEIF", quality=90)
    assert heic[4:12] == b"ftypheic"
    [from_jpeg], [from_heic] = (face_engine.analyze(data).faces for data in (jpeg, heic))
    a, b = from_jpeg.embedding, from_heic.embedding
    assert np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)) > 0.99
    assert abs(from_jpeg.box.x_min - from_heic.box.x_min) <= 3


def test_sixteen_bit_samples_are_scaled_not_clipped():
    samples = np.full((8, 8), 0xABCD, dtype=np.uint16)
    decoded = decode(_encode(Image.fromarray(samples), "PNG"), max_image_pixels=PIXELS)
    assert (decoded.pixels == 0xAB).all()


def test_palette_with_transparency_keeps_colours():
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 200, 10, 20] + [0] * 762)
    decoded = decode(_encode(image, "PNG", transparency=0), max_image_pixels=PIXELS)
    assert decoded.pixels[0, 0].tolist() == [200, 10, 20]


def test_exif_orientation_is_applied():
    upright = _gradient(64, 48)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 degree clockwise turn
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    decoded = decode(_encode(stored, "PNG", exif=exif), max_image_pixels=PIXELS)
    assert (decoded.width, decoded.height) == (64, 48)
    assert np.array_equal(decoded.pixels, np.asarray(upright))


def test_big_jpeg_decodes_at_reduced_scale_but_reports_full_size():
    data = _encode(_gradient(2000, 1200), "JPEG", quality=90)
    decoded = decode(data, max_image_pixels=PIXELS, max_side=640)
    assert (decoded.width, decoded.height) == (2000, 1200)
    # libjpeg's 1/2 scale; 1/4 (500 px) would fall below 640 on the long side.
    assert decoded.pixels.shape == (600, 1000, 3)
    assert decoded.scale == 2.0
    small = decode(_encode(_gradient(4000, 2400), "JPEG"), max_image_pixels=PIXELS, max_side=640)
    assert small.pixels.shape == (600, 1000, 3)
    assert small.scale == 4.0
    # PNG has no reduced-scale decoding: full pixels, scale 1.
    assert (
        decode(_encode(_gradient(2000, 1200), "PNG"), max_image_pixels=PIXELS, max_side=640).scale
        == 1
    )


def test_reduced_scale_respects_exif_rotation():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _encode(_gradient(2000, 1200), "JPEG", exif=exif)
    decoded = decode(data, max_image_pixels=PIXELS, max_side=640)
    assert (decoded.width, decoded.height) == (1200, 2000)
    assert decoded.pixels.shape == (1000, 600, 3)


def _truncated_jpeg() -> bytes:
    data = _encode(_gradient(400, 300), "JPEG", quality=90)
    return data[: len(data) // 2]


def _huge_png() -> bytes:
    return _encode(Image.new("1", (20000, 20000)), "PNG")


BAD_INPUTS = {
    "zero bytes": (lambda: b"", EmptyImage),
    "random bytes": (lambda: os.urandom(5000), NotAnImage),
    "text file": (lambda: b"name,age\nalice,30\n" * 50, NotAnImage),
    "truncated JPEG": (_truncated_jpeg, TruncatedImage),
    "20000x20000 PNG": (_huge_png, ImageTooLarge),
    "6 MB file": (lambda: os.urandom(6 * 1024**2), FileTooLarge),
}


def _read(face_engine: Any, data: bytes) -> None:
    """Through the application layer, where the file size is checked before decoding."""
    inference = Inference(face_engine, 1, max_file_size=SETTINGS.max_file_size)
    inference.faces(InferenceImage(data, None), FaceQuery())


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_raises_its_own_clear_error(case: str, face_engine: Any):
    make, expected = BAD_INPUTS[case]
    with pytest.raises(expected) as caught:
        _read(face_engine, make())
    assert type(caught.value) is expected
    assert caught.value.message
    print(f"{case}: {type(caught.value).__name__}: {caught.value.message}")


def test_bad_inputs_give_distinct_errors(face_engine: Any):
    seen = set()
    for make, _ in BAD_INPUTS.values():
        with pytest.raises(ImageError) as caught:
            _read(face_engine, make())
        seen.add((type(caught.value), caught.value.message))
    assert len(seen) == len(BAD_INPUTS)


def test_text_is_named_as_text():
    with pytest.raises(NotAnImage, match="text"):
        decode(b"hello world", max_image_pixels=PIXELS)


def test_formats_outside_the_list_are_refused():
    with pytest.raises(NotAnImage):
        decode(_encode(_gradient(), "PPM"), max_image_pixels=PIXELS)


def test_pixel_limit_comes_from_settings():
    data = _encode(_gradient(40, 40), "PNG")  # 1600 px: over the limit, under twice it
    with pytest.raises(ImageTooLarge, match="more than 1000 pixels"):
        decode(data, max_image_pixels=1000)
    with pytest.raises(ImageTooLarge):
        decode(_encode(_gradient(100, 100), "PNG"), max_image_pixels=1000)
    assert decode(_encode(_gradient(30, 30), "PNG"), max_image_pixels=1000).width == 30
    # The limit is facegate's own check: Pillow's process-wide one is left as Pillow set it.
    assert Image.MAX_IMAGE_PIXELS == PILLOW_DEFAULT_LIMIT


# --- broken files: every failure of Pillow on client bytes is a TruncatedImage (issue 13) -------


def _patched(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    patched = bytearray(data)
    struct.pack_into(fmt, patched, offset, value)
    return bytes(patched)


def _flipped(data: bytes, at: int) -> bytes:
    flipped = bytearray(data)
    flipped[at] ^= 0xFF
    return bytes(flipped)


def _broken_files() -> dict[str, tuple[bytes, str]]:
    """Broken files seen to crash the server, each with a word of the message it now gets."""
    jpeg = _encode(_gradient(), "JPEG")
    png = _encode(_gradient(), "PNG")
    bmp = _encode(_gradient(), "BMP")
    webp = _encode(_gradient(), "WEBP")
    return {
        # Pillow's OSError "Truncated File Read" at open.
        "truncated JPEG": (jpeg[: len(jpeg) // 2], "Truncated"),
        # "image file is truncated", from getexif(), which reads a PNG to its end.
        "truncated PNG": (png[: len(png) // 2], "truncated"),
        # BMP's info header size (offset 14), bit depth (28) and compression (30).
        "BMP header size": (_patched(bmp, 14, "<I", 20), "header"),
        "BMP bit depth": (_patched(bmp, 28, "<H", 7), "depth"),
        "BMP compression": (_patched(bmp, 30, "<I", 9), "compression"),
        "WEBP header, no body": (webp[:30], "decoder"),
        "PNG with a truncated IHDR": (png[:8] + b"\x00\x00\x00\x0dIHDR\x00\x00", "Truncated"),
        "byte-flipped PNG": (_flipped(png, len(png) // 2), "truncated"),
        "byte-flipped JPEG": (_flipped(jpeg, 200), "broken data stream"),
    }


@pytest.mark.parametrize("case", _broken_files())
def test_broken_files_are_truncated_image_errors(case: str):
    data, word = _broken_files()[case]
    with pytest.raises(TruncatedImage) as caught:
        decode(data, max_image_pixels=PIXELS)
    assert caught.value.message.startswith("The image file is truncated or corrupt (")
    assert word in caught.value.message


# --- fuzzing: any bytes give an image or an ImageError, nothing else ---------------------------

# Small seeds of every accepted format (and of their variants that take other decoders).
SEEDS = {
    "JPEG": _encode(_gradient(24, 16), "JPEG"),
    "progressive JPEG": _encode(_gradient(24, 16), "JPEG", progressive=True),
    "PNG": _encode(_gradient(24, 16), "PNG"),
    "palette PNG": _encode(_gradient(24, 16).convert("P"), "PNG"),
    "BMP": _encode(_gradient(24, 16), "BMP"),
    "GIF": _encode(_gradient(24, 16), "GIF"),
    "TIFF": _encode(_gradient(24, 16), "TIFF"),
    "deflate TIFF": _encode(_gradient(24, 16), "TIFF", compression="tiff_deflate"),
    "WEBP": _encode(_gradient(24, 16), "WEBP"),
    "lossless WEBP": _encode(_gradient(24, 16), "WEBP", lossless=True),
    "ICO": _encode(_gradient(24, 16), "ICO", sizes=[(24, 16)]),
}


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    """A seed cut short, with bytes overwritten, flipped, inserted or deleted, or its header
    followed by arbitrary bytes."""
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["cut", "overwrite", "flip", "insert", "delete", "tail"]))
        if kind == "cut":
            del data[max(1, at) :]
        elif kind == "overwrite":
            data[at : at + 4] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            data[at:] = draw(st.binary(max_size=64))
    return bytes(data)


FUZZ_EXAMPLES = 400


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(st.one_of(_mutated(), st.binary(max_size=256)))
def test_any_bytes_give_an_image_or_an_image_error(data: bytes):
    try:
        decoded = decode(data, max_image_pixels=PIXELS)
    except ImageError as error:
        assert error.message
        return
    assert decoded.pixels.dtype == np.uint8
    assert decoded.pixels.shape == (decoded.height, decoded.width, 3)
