"""Exception classes carrying an HTTP status and a CompreFace error code; rendered in one place."""

from __future__ import annotations


class FacegateError(Exception):
    """Base of every error facegate reports to a user: `{"message", "code"}` with `status`."""

    status: int = 400
    code: int = 0
    default_message: str = "Something went wrong, please try again"

    def __init__(
        self, message: str | None = None, *, status: int | None = None, code: int | None = None
    ) -> None:
        self.message = message or self.default_message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        super().__init__(self.message)

    def body(self) -> dict[str, object]:
        return {"message": self.message, "code": self.code}


# --- images: what `facegate.images` raises for bytes it cannot turn into a picture ----------------


class ImageError(FacegateError):
    """The uploaded bytes are not a usable image (API.md decision 6: a clear 400, not code 28)."""

    status = 400
    code = 21
    default_message = "Image has incorrect format or is broken"


class EmptyImage(ImageError):
    default_message = "The image file is empty"


class NotAnImage(ImageError):
    default_message = "The file is not an image in a supported format"


class TruncatedImage(ImageError):
    default_message = "The image file is truncated or corrupt"


class FileTooLarge(ImageError):
    status = 413
    default_message = "The image file is larger than the allowed maximum"


class ImageTooLarge(ImageError):
    default_message = "The image has more pixels than the allowed maximum"


# --- engine ---------------------------------------------------------------------------------------


class ModelUnavailable(FacegateError):
    """A model's package is not installed, or a plugin has no model at all (e.g. `mask`)."""

    status = 400
    code = 0
    default_message = "Plugin not available"
