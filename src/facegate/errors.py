"""Exception classes carrying an HTTP status and a CompreFace error code; rendered in one place
(`facegate.api.errors`) as `{"message", "code"}` with the class's status.

The status comes from a few bases; each domain class adds CompreFace's code and message:

    FacegateError
    +-- BadRequest 400          images (ImageError: EmptyImage, NotAnImage, TruncatedImage,
    |                           ImageTooLarge; FileTooLarge answers 413), parameters and names,
    |                           faces (NoFaceFound 28, TooManyFaces 31, ExampleRefused 0),
    |                           accounts and roles
    +-- Unauthorized 401        NotAuthenticated
    +-- Forbidden 403           CsrfRejected, SignupClosed, RegistrationTokenExpired,
    |                           AdministratorRequired
    +-- NotFound 404            services, applications, users, subjects, examples, webhooks,
    |                           clusters and faces of unknown faces (ClusterNotFound,
    |                           UnknownFaceNotFound), rejections (RejectionNotFound)
    +-- MethodNotAllowed 405    WritesDuringMigration
    +-- RequestTimedOut 408     a body that stopped arriving
    +-- Conflict 409            EmbeddedByOtherModel, MigrationImpossible, IdempotencyKeyInFlight,
    |                           GalleryIdClash
    +-- PayloadTooLarge 413     RequestTooLarge
    +-- 422                     IdempotencyKeyReused
    +-- TooManyRequests 429     LoginThrottled, ResetMailThrottled
    +-- HeadersTooLarge 431     too many or too large header fields
    +-- ServerError 500         MailDisabled, SearchBackendUnavailable (at start)
    +-- Unavailable 503         InferenceQueueFull (with Retry-After)
"""

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

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides the body (Retry-After, for one)."""
        return {}


class BadRequest(FacegateError):
    status = 400


class Unauthorized(FacegateError):
    status = 401


class Forbidden(FacegateError):
    status = 403


class NotFound(FacegateError):
    status = 404


class MethodNotAllowed(FacegateError):
    status = 405


class RequestTimedOut(FacegateError):
    status = 408
    default_message = "The request body stopped arriving"

    def headers(self) -> dict[str, str]:
        return {"Connection": "close"}  # the rest of the body may still come: never read it


class Conflict(FacegateError):
    status = 409


class PayloadTooLarge(FacegateError):
    status = 413


class TooManyRequests(FacegateError):
    status = 429


class HeadersTooLarge(FacegateError):
    status = 431
    default_message = "Request header fields too large"


class ServerError(FacegateError):
    status = 500


class Unavailable(FacegateError):
    status = 503


# --- images: what `facegate.engine.images` raises for bytes it cannot turn into a picture -------


class ImageError(BadRequest):
    """The uploaded bytes are not a usable image (decisions.md D6: a clear 400, not code 28)."""

    code = 21
    default_message = "Image has incorrect format or is broken"


class EmptyImage(ImageError):
    default_message = "The image file is empty"


class NotAnImage(ImageError):
    default_message = "The file is not an image in a supported format"


class TruncatedImage(ImageError):
    default_message = "The image file is truncated or corrupt"


class FileTooLarge(ImageError):
    status = 413  # an image error (code 21) answered as PayloadTooLarge, as CompreFace's nginx
    default_message = "The image file is larger than the allowed maximum"


class ImageTooLarge(ImageError):
    default_message = "The image has more pixels than the allowed maximum"


# --- engine ---------------------------------------------------------------------------------------


class ModelUnavailable(BadRequest):
    """A model's package is not installed, or a plugin has no model at all (e.g. `mask`)."""

    code = 0
    default_message = "Plugin not available"


# --- HTTP API: CompreFace's codes and texts (decisions.md C1.0, C2.1) -----------------------------


class MissingApiKey(BadRequest):
    code = 20
    default_message = "Missing header: x-api-key"


class BadApiKey(BadRequest):
    code = 26
    default_message = "Service API key should be UUID"


class ServiceNotFound(NotFound):
    """No service of the URL's type has this key: `<Type> service with API Key <key> not found`."""

    code = 10

    def __init__(self, kind: str, api_key: str) -> None:
        super().__init__(f"{kind.capitalize()} service with API Key {api_key} not found")


class InvalidParameter(BadRequest):
    """A constraint on a request parameter or body field failed (CompreFace code 26)."""

    code = 26


class InvalidWebhook(InvalidParameter):
    """A webhook's URL is not http(s), or it names an event type facegate does not send."""


class InvalidName(BadRequest):
    """A name contains one of `; / \\` (CompreFace's @Pattern, code 36)."""

    code = 36
    default_message = "The name cannot contain the following special characters: ';', '/', '\\'"


class EmptyField(BadRequest):
    code = 5

    def __init__(self, field: str) -> None:
        super().__init__(f"Field {field} cannot be empty")


class MissingParameter(BadRequest):
    code = 33

    def __init__(self, name: str) -> None:
        super().__init__(f"Required parameter {name} is missing")


class MissingPart(BadRequest):
    code = 34

    def __init__(self, name: str) -> None:
        super().__init__(f"Required part {name} is missing")


class BadExtension(BadRequest):
    code = 21

    def __init__(self, filename: str) -> None:
        super().__init__(f"File [{filename}] has an unavailable extension")


class NotBase64(BadRequest):
    code = 21
    default_message = "Provided value is not Base64"


class NoFaceFound(BadRequest):
    code = 28
    default_message = "No face is found in the given image"


class TooManyFaces(BadRequest):
    code = 31
    default_message = "More than one face in the source image"


class ExampleRefused(BadRequest):
    """A new example's face falls outside its service's enrolment quality limits
    (decisions.md D24); code 0, as facegate's other refusals without a CompreFace code."""

    code = 0

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("Example refused: " + "; ".join(reasons))


class MigrationRunning(BadRequest):
    code = 27
    default_message = "Migration already executing"


class WritesDuringMigration(MethodNotAllowed):
    code = 32
    default_message = "Write operations during migration aren't allowed"


class EmbeddedByOtherModel(Conflict):
    """An example stored by another model set, not re-embedded yet (docs/models.md, switching)."""

    def __init__(self, stored: str, current: str) -> None:
        super().__init__(
            f"This example was embedded by the model {stored}, not by the current {current}; "
            "run `facegate migrate` (or POST /api/v1/migrate) to re-embed the collection"
        )


class MigrationImpossible(Conflict):
    """Examples to re-embed whose photos were not kept (save_images_to_db=false)."""

    def __init__(self, without_photo: int) -> None:
        super().__init__(
            f"{without_photo} examples were embedded by another model and have no stored photo "
            "(save_images_to_db=false), so they cannot be re-embedded: switch back to their "
            "model, or delete them and add their photos again"
        )


class ImageIdIncorrect(NotFound):
    code = 44
    default_message = "Image Id is incorrect"


class RequestTooLarge(PayloadTooLarge):
    code = 0
    default_message = "The request body is larger than the allowed maximum"


class InferenceQueueFull(Unavailable):
    """Every inference slot is busy and max_queued_inferences requests already wait for one."""

    def __init__(self, waiting: int, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"The server is busy: {waiting} requests are waiting for face inference; "
            f"retry in {retry_after} seconds"
        )

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class IdempotencyKeyInFlight(Conflict):
    """A retry arrived while the first request with its Idempotency-Key is still running."""

    default_message = (
        "A request with this Idempotency-Key is still being processed; retry when it has answered"
    )


class IdempotencyKeyReused(FacegateError):
    """The key was first sent with another method or path (the IETF draft's 422)."""

    status = 422
    default_message = "This Idempotency-Key was used for a different request"


# --- admin API: accounts, applications, services (decisions.md C2.2; docs/admin-api.md) ----------


class NotAuthenticated(Unauthorized):
    code = 1
    default_message = "Authentication required"


class CsrfRejected(Forbidden):
    code = 1
    default_message = "Missing or invalid CSRF token"


class AdministratorRequired(Forbidden):
    """Logged in, but not a global OWNER or ADMINISTRATOR (POST /api/v1/migrate)."""

    code = 9
    default_message = "Only an administrator may do this"


class AppNotFound(NotFound):
    code = 2

    def __init__(self, app_id: str) -> None:
        super().__init__(f"App {app_id} not found")


class ServiceNotInApp(NotFound):
    code = 3

    def __init__(self, service_id: str, app_id: str) -> None:
        super().__init__(f"Service {service_id} does not belong to application {app_id}")


class WebhookNotFound(NotFound):
    """No webhook with this id in the service (facegate's own, docs/events.md)."""

    code = 0

    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"Webhook {webhook_id} not found")


class EmailAlreadyRegistered(BadRequest):
    code = 4
    default_message = "This email already registered"


class InsufficientPrivileges(BadRequest):
    code = 9
    default_message = "Action not allowed for current user"


class SignupClosed(Forbidden):
    code = 9
    default_message = "Sign-up is closed: ask an administrator for an account"


class IllegalReplacer(BadRequest):
    code = 13

    def __init__(self, value: str) -> None:
        super().__init__(f"Illegal replacer value={value}!")


class SelfRoleChange(BadRequest):
    code = 14
    default_message = "User can't change their role"


class UserNotFound(NotFound):
    code = 16

    def __init__(self, user: str) -> None:
        super().__init__(f"User {user} does not exist")


class IncorrectPassword(BadRequest):
    code = 18
    default_message = "User's password is incorrect"


class AlreadyMember(BadRequest):
    code = 19

    def __init__(self, email: str, app_name: str) -> None:
        super().__init__(f"User {email} already has access to application {app_name}")


class InvalidEmail(BadRequest):
    code = 22
    default_message = "Email format is incorrect"


class RegistrationTokenExpired(Forbidden):
    code = 25
    default_message = "User registration token is expired!"


class MailDisabled(ServerError):
    code = 29
    default_message = "We cannot send an email. No email server enabled!"


class SearchBackendUnavailable(ServerError):
    """The configured search backend cannot run on this database (a server refuses to start)."""


class UnreachableEmail(BadRequest):
    code = 24

    def __init__(self, email: str) -> None:
        super().__init__(
            f"We couldn't send email to the given address({email}). "
            "Please make sure that it's correct!"
        )


class InvalidResetToken(BadRequest):
    code = 30
    default_message = "The reset password token is invalid!"


class BadCredentials(BadRequest):
    code = 0
    default_message = "Bad credentials"


class AccountDisabled(BadCredentials):
    """Right password, but the e-mail address is not confirmed yet."""

    default_message = "User is disabled"


class LoginThrottled(TooManyRequests):
    code = 0

    def __init__(self, wait_seconds: int) -> None:
        self.wait_seconds = wait_seconds
        super().__init__(f"Too many failed logins, try again in {wait_seconds} seconds")


# --- collections and services: `facegate.collection.store` and `facegate.face_services` --------


class SubjectNotFound(NotFound):
    code = 42

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject {subject} not found")


class SubjectAlreadyExists(BadRequest):
    code = 43
    default_message = "Subject already exists"


class SubjectWithoutExamples(Conflict):
    """A subject verified against holds no example of the current model (decisions.md D19)."""

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject {subject} has no face example of the current model to verify against"
        )


class ExampleNotFound(NotFound):
    """An example id unknown to this service (CompreFace's EmbeddingNotFoundException)."""

    code = 44

    def __init__(self, example_id: str) -> None:
        super().__init__(f"Image {example_id} not found")


class ClusterNotFound(NotFound):
    """No cluster of unknown faces with this id in the service (decisions.md D26)."""

    def __init__(self, cluster_id: str) -> None:
        super().__init__(f"Cluster {cluster_id} not found")


class UnknownFaceNotFound(NotFound):
    """No kept unknown face with this id in the service (decisions.md D26)."""

    def __init__(self, face_id: str) -> None:
        super().__init__(f"Unknown face {face_id} not found")


class RejectionNotFound(NotFound):
    """No rejection ("this is not X") with this id in the service (decisions.md D66)."""

    def __init__(self, rejection_id: str) -> None:
        super().__init__(f"Rejection {rejection_id} not found")


class NameNotUnique(BadRequest):
    """Another service of the application (or another application) already has this name."""

    code = 17

    def __init__(self, name: str) -> None:
        super().__init__(f"Name {name} is not unique")


class WrongEmbeddingSize(BadRequest):
    """A query embedding whose length differs from the service's stored embeddings."""

    def __init__(self, given: int, stored: int) -> None:
        super().__init__(f"The embedding has {given} values; the stored ones have {stored}")


class InvalidGallery(BadRequest):
    """A file given to `facegate import` as a gallery that is not one (collection.gallery)."""

    default_message = "The file is not a facegate gallery archive"


class GalleryIdClash(Conflict):
    """A gallery's example id already names a different example on this server."""

    def __init__(self, example_id: str) -> None:
        super().__init__(
            f"Example {example_id} of the gallery already exists on this server with another "
            "subject, photo or service; nothing was imported"
        )


class ResetMailThrottled(TooManyRequests):
    """Too many password-reset e-mails asked for one address (facegate.admin.logins)."""

    code = 0

    def __init__(self, wait_seconds: int) -> None:
        self.wait_seconds = wait_seconds
        super().__init__(f"Too many password reset e-mails, try again in {wait_seconds} seconds")
