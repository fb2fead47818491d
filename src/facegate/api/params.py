"""Request parameters as CompreFace reads them: query string and multipart fields, Spring-style."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.datastructures import UploadFile

from facegate import names
from facegate.engine import plugins as face_plugins
from facegate.errors import (
    BadExtension,
    BadRequest,
    EmptyField,
    InvalidParameter,
    MissingParameter,
    MissingPart,
    NotBase64,
    WrongEmbeddingSize,
)
from facegate.inference import FaceQuery, Image

# CompreFace's `image.types` (application.yml); the extension of the original filename decides.
# HEIC and HEIF, iPhones' photos, are facegate's addition (engine/images.py).
IMAGE_EXTENSIONS = frozenset(
    {"tif", "tiff", "jpg", "jpeg", "png", "bmp", "ico", "gif", "webp", "heic", "heif"}
)
# Embedding values are compared as float32: squares of larger values could overflow (a real
# embedding's values are below 100), and NaN or infinite ones give no similarity at all.
EMBEDDING_BOUND = 1e15
# Java's int, the type of every integer parameter of CompreFace's controllers.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0"})
# commons-codec's Base64.isBase64: the alphabet (standard and URL-safe), padding and whitespace.
_BASE64 = re.compile(r"[A-Za-z0-9+/=_\-\s]*")


class Params:
    """Parameters from the query string and form fields (Spring's @RequestParam reads both)."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._pairs = pairs

    def text(self, name: str) -> str | None:
        """The value, repeated values joined with commas (Spring's String binding)."""
        values = [value for key, value in self._pairs if key == name]
        return ",".join(values) if values else None

    def integer(self, name: str, default: int) -> int:
        text = (self.text(name) or "").strip()
        if not text:  # Spring uses defaultValue for an empty value too
            return default
        try:
            value = int(text)
        except ValueError:
            raise InvalidParameter(f"{name} should be an integer; ") from None
        # Spring binds a Java int: larger values never reach CompreFace's code (nor, here, an
        # OFFSET of page * size that overflows the database's 64-bit integers).
        if not INT_MIN <= value <= INT_MAX:
            raise InvalidParameter(f"{name} should be an integer from {INT_MIN} to {INT_MAX}; ")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        text = (self.text(name) or "").strip().lower()
        if not text:
            return default
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidParameter(f"{name} should be a boolean (true or false); ")

    def dry_run(self) -> bool:
        """`dry_run`: the call changes nothing (docs/decisions.md D58)."""
        return self.boolean("dry_run", False)

    def unique_subjects(self) -> bool | None:
        """`unique_subjects`: each subject given to one face of a photo (of each frame of a
        burst) at most; None when not given: the service's setting decides (decisions.md D67)."""
        if not (self.text("unique_subjects") or "").strip():
            return None
        return self.boolean("unique_subjects", False)

    def prediction_count(self) -> int:
        """Subjects per face; -1 means all (decisions.md D4)."""
        count = self.integer("prediction_count", 1)
        if count < 1 and count != -1:
            raise InvalidParameter("prediction_count should be equal or greater than 1; ")
        return count

    def det_prob_threshold(self) -> float | None:
        text = (self.text("det_prob_threshold") or "").strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            raise InvalidParameter("det_prob_threshold should be a number; ") from None

    def min_similarity(self) -> float | None:
        """The similarity under which recognition leaves a match out (decisions.md D19)."""
        text = (self.text("min_similarity") or "").strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise InvalidParameter("min_similarity should be a number; ") from None
        if not 0 <= value <= 1:  # NaN fails too
            raise InvalidParameter("min_similarity should be from 0 to 1; ")
        return value

    def per_subject(self) -> bool:
        """`aggregate=subject`: one match per subject; `example` (the default): one per example."""
        text = (self.text("aggregate") or "").strip().lower()
        if text not in ("", "example", "subject"):
            raise InvalidParameter("aggregate should be example or subject; ")
        return text == "subject"

    def face_plugins(self) -> list[str]:
        """Requested plugin slugs: comma- or space-separated, repeated parameters joined."""
        return face_plugins.parse(self.text("face_plugins") or "")

    def face_query(self) -> FaceQuery:
        """The parameters shared by recognize, detect and both verify endpoints."""
        return FaceQuery(
            limit=self.integer("limit", 0),
            det_prob_threshold=self.det_prob_threshold(),
            plugins=self.face_plugins(),
            status=self.boolean("status", False),
        )

    def subject(self) -> str:
        """The `subject` parameter of add-example: required, and by the rule `POST /subjects`
        applies (CompreFace checks only there; decisions.md D11)."""
        name = self.text("subject")
        if name is None:
            raise MissingParameter("subject")
        return names.subject(name, empty=InvalidParameter("Subject name is empty; "))


def image_from_upload(upload: UploadFile | str | None, part: str) -> Image:
    """A multipart file part, checked for presence, extension and size."""
    if not isinstance(upload, UploadFile):
        raise MissingPart(part)
    filename = upload.filename or ""
    if filename.rsplit(".", 1)[-1].lower() not in IMAGE_EXTENSIONS or "." not in filename:
        raise BadExtension(filename)
    # Its size is checked where every image's is, in facegate.engine.images.decode (the whole
    # request is already bounded by max_request_size).
    data = upload.file.read()
    return Image(data, filename)


def image_from_base64(body: Mapping[str, Any], field: str, java_name: str) -> Image:
    """A base64 JSON field (`file`, `source_image`...); `java_name` is CompreFace's for code 5."""
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise EmptyField(java_name)
    if not _BASE64.fullmatch(value):
        raise NotBase64()
    compact = re.sub(r"\s", "", value).replace("-", "+").replace("_", "/")
    try:
        data = base64.b64decode(compact + "=" * (-len(compact) % 4))
    except (binascii.Error, ValueError):
        raise NotBase64() from None
    return Image(data, None)


def json_object(body: object) -> Mapping[str, Any]:
    """A JSON body that must be an object."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    return body


def subject_name(body: object) -> str:
    """`{"subject": name}` checked as CompreFace's SubjectDto: not blank, 1..50, no `; / \\`
    (and storable: decisions.md D11)."""
    name = body.get("subject") if isinstance(body, dict) else None
    empty = InvalidParameter("Subject name cannot be empty")
    if not isinstance(name, str):
        raise empty
    return names.subject(name, empty=empty)


def embeddings_field(body: object, field: str, *, size: int | None = None) -> list[list[float]]:
    """A JSON field holding a non-empty list of embeddings (lists of numbers), as CompreFace's;
    all of one length, `size` when given."""
    value = body.get(field) if isinstance(body, dict) else None
    if not isinstance(value, list) or not value:
        raise EmptyField(field)
    embeddings = [embedding_value(item, field) for item in value]
    require_size(embeddings, size if size is not None else len(embeddings[0]))
    return embeddings


def require_size(embeddings: list[list[float]], size: int) -> None:
    """Every embedding has `size` values (the length of what they are compared with)."""
    for item in embeddings:
        if len(item) != size:
            raise WrongEmbeddingSize(len(item), size)


def embedding_value(value: object, field: str) -> list[float]:
    """One embedding: a non-empty list of finite numbers within +-EMBEDDING_BOUND."""
    if not isinstance(value, list) or not value:
        raise EmptyField(field)
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
        raise InvalidParameter(f"Field {field} must hold lists of numbers")
    # Compared before any conversion: an int too large for a float compares exactly, and NaN
    # fails both comparisons.
    if not all(-EMBEDDING_BOUND <= x <= EMBEDDING_BOUND for x in value):
        raise InvalidParameter(
            f"Field {field} must hold finite numbers from -{EMBEDDING_BOUND:g} to "
            f"{EMBEDDING_BOUND:g}"
        )
    return [float(x) for x in value]
