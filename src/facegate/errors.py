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


# --- HTTP API: CompreFace's codes and texts (COMPREFACE.md §1.0, §2.1) -----------------------------


class MissingApiKey(FacegateError):
    code = 20
    default_message = "Missing header: x-api-key"


class BadApiKey(FacegateError):
    code = 26
    default_message = "Service API key should be UUID"


class ServiceNotFound(FacegateError):
    """No service of the URL's type has this key: `<Type> service with API Key <key> not found`."""

    status = 404
    code = 10

    def __init__(self, kind: str, api_key: str) -> None:
        super().__init__(f"{kind.capitalize()} service with API Key {api_key} not found")


class InvalidParameter(FacegateError):
    """A constraint on a request parameter or body field failed (CompreFace code 26)."""

    code = 26


class InvalidName(FacegateError):
    """A name contains one of `; / \\` (CompreFace's @Pattern, code 36)."""

    code = 36
    default_message = "The name cannot contain the following special characters: ';', '/', '\\'"


class EmptyField(FacegateError):
    code = 5

    def __init__(self, field: str) -> None:
        super().__init__(f"Field {field} cannot be empty")


class MissingParameter(FacegateError):
    code = 33

    def __init__(self, name: str) -> None:
        super().__init__(f"Required parameter {name} is missing")


class MissingPart(FacegateError):
    code = 34

    def __init__(self, name: str) -> None:
        super().__init__(f"Required part {name} is missing")


class BadExtension(FacegateError):
    code = 21

    def __init__(self, filename: str) -> None:
        super().__init__(f"File [{filename}] has an unavailable extension")


class NotBase64(FacegateError):
    code = 21
    default_message = "Provided value is not Base64"


class NoFaceFound(FacegateError):
    code = 28
    default_message = "No face is found in the given image"


class TooManyFaces(FacegateError):
    code = 31
    default_message = "More than one face in the source image"


class MigrationRunning(FacegateError):
    code = 27
    default_message = "Migration already executing"


class WritesDuringMigration(FacegateError):
    status = 405
    code = 32
    default_message = "Write operations during migration aren't allowed"


class ImageIdIncorrect(FacegateError):
    status = 404
    code = 44
    default_message = "Image Id is incorrect"


class RequestTooLarge(FacegateError):
    status = 413
    code = 0
    default_message = "The request body is larger than the allowed maximum"
