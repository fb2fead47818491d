"""Image bytes -> RGB uint8 pixels: accepted formats, EXIF orientation, size and pixel limits."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from facegate.engine.types import Pixels
from facegate.errors import (
    EmptyImage,
    ImageTooLarge,
    NotAnImage,
    TruncatedImage,
)

# CompreFace's extension whitelist (tif, tiff, jpg, jpeg, png, bmp, ico, gif, webp) as Pillow
# format names, and HEIF (.heic and .heif: iPhones' photos; facegate's addition, decoded by
# pillow-heif's libheif); anything else Pillow could open (PSD, PDF, ...) is refused.
FORMATS = ("JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP", "ICO", "HEIF")
# Pillow opens HEIF through pillow-heif's plugin. libheif applies the file's rotation itself
# and pillow-heif then leaves EXIF saying "upright", so exif_transpose does not turn it twice.
register_heif_opener(thumbnails=False)

# Orientations 5-8 swap width and height (EXIF tag 274).
_TRANSPOSED_ORIENTATIONS = {5, 6, 7, 8}
_SIXTEEN_BIT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}
# What Pillow's plugins raise on malformed data, at open or at any later step: OSError
# ("Truncated File Read", "broken data stream", "could not create decoder object", unsupported
# BMP header/depth/compression), SyntaxError ("broken PNG file"), ValueError ("Truncated IHDR
# chunk"), and from the parsers of headers and EXIF blocks EOFError, IndexError, KeyError,
# TypeError, struct.error and arithmetic errors. Client bytes are the only input of `decode`, so
# each of these means a broken file (issue 13; tests/engine/test_images.py fuzzes every format).
BROKEN_IMAGE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    ArithmeticError,
)


@dataclass(frozen=True)
class DecodedImage:
    """Upright RGB pixels plus the image's true size (pixels may be smaller: see `decode`)."""

    pixels: Pixels  # (H, W, 3) uint8 RGB, C-contiguous
    width: int  # of the full-resolution, upright image
    height: int
    format: str  # Pillow's name: "JPEG", "PNG", ...

    @property
    def scale(self) -> float:
        """Full-resolution pixels per decoded pixel (1.0 unless decoded at reduced scale)."""
        return self.width / int(self.pixels.shape[1])


def decode(data: bytes, *, max_image_pixels: int, max_side: int | None = None) -> DecodedImage:
    """Decode image bytes into upright RGB pixels, refusing what facegate cannot use.

    `max_side` lets a large JPEG decode at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, far
    cheaper than a full decode and a resize) while keeping both sides >= `max_side`; the engine
    passes the detector's `max_detect_size` unless a plugin reads the full pixels (docs/
    decisions.md D76). Other formats decode in full.

    Raises EmptyImage, NotAnImage, ImageTooLarge or TruncatedImage (the file's size is
    checked before, by facegate.inference).
    """
    if not data:
        raise EmptyImage()
    too_large = ImageTooLarge(
        f"The image has more than {max_image_pixels} pixels (max_image_pixels)"
    )
    # Opening reads only the header; the pixel count is checked here, before any decoding, and
    # Pillow's process-wide MAX_IMAGE_PIXELS is left alone (its own refusal, at about 179 MP,
    # caps max_image_pixels).
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        raise NotAnImage(_not_an_image_message(data)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # The warning is an error where warnings are (the test suite); either way the image is
        # over Pillow's own limit, which caps max_image_pixels.
        raise too_large from None
    except BROKEN_IMAGE_ERRORS as error:
        raise _corrupt(None, error) from None
    with image:
        if image.size[0] * image.size[1] > max_image_pixels:
            raise too_large
        try:
            return _decode_open(image, max_side)
        except Image.DecompressionBombError:
            raise too_large from None
        except BROKEN_IMAGE_ERRORS as error:
            raise _corrupt(str(image.format), error) from None


def _decode_open(image: Image.Image, max_side: int | None) -> DecodedImage:
    """Everything after the header: EXIF, pixels, orientation, RGB; every step may meet broken
    data (reading the EXIF block of a PNG decodes the whole file, for one)."""
    width, height = image.size
    if image.getexif().get(0x0112) in _TRANSPOSED_ORIENTATIONS:
        width, height = height, width
    if max_side and image.format == "JPEG":
        image.draft("RGB", _draft_size(image.size, max_side))
    image.load()
    # In place: otherwise Pillow copies the whole image even when it is already upright.
    ImageOps.exif_transpose(image, in_place=True)
    pixels = _to_rgb(image)
    return DecodedImage(pixels=pixels, width=width, height=height, format=str(image.format))


def _corrupt(fmt: str | None, error: Exception) -> TruncatedImage:
    """The clear 400 for a broken file, naming the format when its header was readable."""
    detail = str(error) or type(error).__name__
    where = f"{fmt}: " if fmt else ""
    return TruncatedImage(f"The image file is truncated or corrupt ({where}{detail})")


def _draft_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The smallest size Pillow's draft may pick so the longer side stays >= max_side."""
    longer = max(size)
    if longer <= max_side:
        return size
    return (max(1, size[0] * max_side // longer), max(1, size[1] * max_side // longer))


def _to_rgb(image: Image.Image) -> Pixels:
    """Any Pillow mode -> (H, W, 3) uint8 RGB; alpha is dropped, as CompreFace does."""
    if image.mode in _SIXTEEN_BIT_MODES:
        # Pillow's own I -> RGB conversion clips at 255 instead of scaling 16-bit samples.
        wide = np.asarray(image, dtype=np.uint32)
        gray = (wide >> 8).clip(0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if image.mode == "F":
        gray = np.asarray(image, dtype=np.float32).clip(0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if image.mode != "RGB":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        if image.mode == "RGBA":
            image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def _not_an_image_message(data: bytes) -> str:
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return (
            "The file is not an image in a supported format (jpeg, png, bmp, gif, tiff, webp, ico, "
            "heic)"
        )
    return "The file contains text, not an image"
