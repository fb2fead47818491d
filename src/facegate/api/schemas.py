"""The face API's JSON bodies as pydantic models, for its OpenAPI description only.

Handlers keep returning plain dicts built by `render` and parse bodies tolerantly (`params`,
`deps`): these models describe what they do and never validate a request or a response, so
documenting an endpoint cannot change what it answers (tests/api/contract/test_openapi.py and the
schemathesis run in tests/api/test_schemathesis.py check the two agree).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from facegate import names

# A key that only some answers carry: absent, never null (the models are not used to serialise).
Absent = SkipJsonSchema[None]
Point = Annotated[list[float], Field(min_length=2, max_length=2, description="[x, y] in pixels")]
Embedding = Annotated[list[float], Field(min_length=1)]


# --- errors ----------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    """CompreFace's error body, on every refusal; `code` tells the refusals of one status apart."""

    message: str
    code: int


class ServerFaultBody(ErrorBody):
    """A fault of facegate's own (never a client's input): logged with the same request_id."""

    request_id: str = Field(pattern="^[0-9a-f]{32}$")


# --- request bodies: the JSON alternatives to multipart, and the JSON-only bodies ------------


class ImageBase64(BaseModel):
    """The image as base64 in JSON, instead of a multipart `file` part."""

    file: str = Field(description="The image file's bytes in base64 (standard or URL-safe)")


class TwoImagesBase64(BaseModel):
    """Both images of `/verification/verify` as base64 in JSON."""

    source_image: str = Field(description="The image with one face, in base64")
    target_image: str = Field(description="The image whose faces are compared, in base64")


class SubjectName(BaseModel):
    """A subject's name: 1 to 50 characters, not blank, none of `; / \\`."""

    subject: str = Field(min_length=1, max_length=names.MAX_LENGTH)


class EmbeddingsQuery(BaseModel):
    """Embeddings of faces, each of the model set's length (128 on dlib, 512 on InsightFace)."""

    embeddings: list[Embedding] = Field(min_length=1)


class EmbeddingsVerification(BaseModel):
    """One embedding compared with others, all of the model set's length."""

    source: Embedding
    targets: list[Embedding] = Field(min_length=1)


# --- faces: the parts of a face that each plugin adds -----------------------------------------


class FaceBox(BaseModel):
    probability: float
    x_max: int
    y_max: int
    x_min: int
    y_min: int


class AgeRange(BaseModel):
    low: int
    high: int
    probability: float


class GenderValue(BaseModel):
    value: str
    probability: float


class MaskValue(BaseModel):
    """CompreFace's shape in both formats; this model never answers `mask_weared_incorrect`."""

    value: Literal["with_mask", "without_mask"]
    probability: float


class Pose(BaseModel):
    pitch: float
    roll: float
    yaw: float


class Quality(BaseModel):
    """facegate's `quality` plugin (docs/api.md, "Face quality")."""

    eye_distance: float = Field(description="Pixels between the eyes in the original photo")
    sharpness: float = Field(description="Laplacian variance of the aligned grey chip")
    brightness: float = Field(description="The chip's mean grey level, 0..1")
    clipped: float = Field(description="The chip's share of crushed or blown pixels")
    yaw: float
    pitch: float
    roll: float
    detection: float = Field(description="The detector's score")


class FoundFace(BaseModel):
    """One face: its box, and a key for each requested plugin (`face_plugins`).

    `age` and `gender` are the seed's `[low, high]` and `"male"`, or CompreFace 1.2's objects
    with the `compreface-1.2` response format (docs/configuration.md)."""

    age: list[int] | AgeRange | Absent = None
    gender: str | GenderValue | Absent = None
    pose: Pose | Absent = None
    quality: Quality | Absent = Field(default=None, description="With `quality` (facegate's)")
    mask: MaskValue | Absent = Field(default=None, description="With `mask` (the `mask` extra)")
    embedding: Embedding | Absent = Field(default=None, description="With `calculator`")
    box: FaceBox
    landmarks: list[Point] | Absent = Field(
        default=None, description="With `landmarks` (5 points) or `landmarks2d106` (106)"
    )
    landmarks68: list[Point] | Absent = None
    execution_time: dict[str, float] | Absent = Field(
        default=None, description="Milliseconds per plugin, with `status=true`"
    )


PluginsVersions = Annotated[
    dict[str, str], Field(description="Each plugin's model, with `status=true`")
]


class SubjectSimilarity(BaseModel):
    subject: str
    similarity: float


class RecognizedFace(FoundFace):
    subjects: list[SubjectSimilarity] = Field(
        description="The `prediction_count` most similar stored examples, best first (with "
        "`aggregate=subject`: subjects, each by its best example); those under `min_similarity` "
        "or the service's threshold are left out, so `[]` means unknown"
    )


class Recognition(BaseModel):
    result: list[RecognizedFace]
    plugins_versions: PluginsVersions | Absent = None


class BurstFrameFace(RecognizedFace):
    frame: int = Field(description="The frame's number, from 0 in the order sent")
    weight: float = Field(
        description="How much this face counted in the vote: detector score x size x "
        "sharpness x light, 0..1 (docs/bursts.md)"
    )


class BurstTrack(BaseModel):
    """One person followed across the frames, and the vote's answer."""

    subject: str | None = Field(description="The answer; null: unknown")
    similarity: float | None = Field(
        description="The weighted mean similarity of the frames that voted for the subject; "
        "for an unknown, the best seen"
    )
    support: float = Field(description="The share of the track's weight behind the answer")
    frame: int = Field(description="The frame of the track's heaviest face")
    box: FaceBox = Field(description="That face's box")
    frames: list[BurstFrameFace] = Field(description="The evidence: the track's face per frame")


class BurstRecognition(BaseModel):
    """facegate: one answer per person across several frames."""

    result: list[BurstTrack]
    faces_per_frame: list[int] = Field(description="Faces found in each frame, in order")


class Detection(BaseModel):
    result: list[FoundFace]
    plugins_versions: PluginsVersions | Absent = None


class ExampleMatch(FoundFace):
    subject: str
    similarity: float


class ExampleVerification(BaseModel):
    result: list[ExampleMatch]
    plugins_versions: PluginsVersions | Absent = None


class SubjectMatch(FoundFace):
    subject: str
    similarity: float = Field(description="To the subject's most similar example")
    image_id: str = Field(description="That example")


class SubjectVerification(BaseModel):
    """facegate: a photo's faces compared with every example of one subject."""

    result: list[SubjectMatch]
    plugins_versions: PluginsVersions | Absent = None


class FaceMatch(FoundFace):
    similarity: float


class VerificationItem(BaseModel):
    source_image_face: FoundFace
    face_matches: list[FaceMatch]
    plugins_versions: PluginsVersions | Absent = None


class Verification(BaseModel):
    result: list[VerificationItem] = Field(min_length=1, max_length=1)


# --- embeddings --------------------------------------------------------------------------------


class EmbeddingSimilarities(BaseModel):
    embedding: list[float]
    similarities: list[SubjectSimilarity]


class EmbeddingsRecognition(BaseModel):
    result: list[EmbeddingSimilarities]


class EmbeddingSimilarity(BaseModel):
    embedding: list[float]
    similarity: float


class EmbeddingsVerificationResult(BaseModel):
    result: list[EmbeddingSimilarity] = Field(description="Best first")


# --- the collection: subjects and examples -----------------------------------------------------


class Subject(BaseModel):
    subject: str


class Subjects(BaseModel):
    subjects: list[str]


class Updated(BaseModel):
    updated: bool


class Deleted(BaseModel):
    deleted: int = Field(ge=0)


class ExampleRef(BaseModel):
    image_id: str
    subject: str


ExampleRefs = list[ExampleRef]


class ListedExample(ExampleRef):
    set_aside: bool = Field(
        description="facegate: whether the example is set aside, so that no search finds it "
        "(`PUT /faces/{image_id}/set-aside`)"
    )


class ExamplePage(BaseModel):
    faces: list[ListedExample]
    total_pages: int = Field(ge=0)
    total_elements: int = Field(ge=0)
    page_number: int = Field(ge=0)
    page_size: int = Field(ge=1)


class UnknownFace(BaseModel):
    id: str
    seen: str = Field(description="When recognition saw it, ISO 8601 in UTC")
    url: str = Field(description="Its picture (send the service's `x-api-key`)")


class UnknownCluster(BaseModel):
    id: str
    created: str = Field(description="ISO 8601 in UTC")
    updated: str = Field(description="When a face last joined it, ISO 8601 in UTC")
    faces: list[UnknownFace] = Field(description="Newest first")


class UnknownClusters(BaseModel):
    """The service's clusters of unknown faces, the most recently grown first."""

    clusters: list[UnknownCluster]


class NamedCluster(BaseModel):
    subject: str
    image_ids: list[str] = Field(description="The examples the cluster's faces became")


class SetAside(BaseModel):
    image_id: str
    subject: str
    set_aside: bool = Field(description="Whether search now leaves the example out")


class CheckedExample(BaseModel):
    image_id: str
    subject: str


class Outlier(CheckedExample):
    similarity: float = Field(description="Median similarity to the subject's other examples")


class QualityRefusal(CheckedExample):
    reasons: list[str] = Field(description="What the quality gate would say of its kept photo")


class CheckedPair(BaseModel):
    image_ids: list[str] = Field(min_length=2, max_length=2)
    subjects: list[str] = Field(min_length=2, max_length=2)
    similarity: float


class CheckedStranger(BaseModel):
    face_id: str = Field(description="The kept unknown face")
    url: str = Field(description="Its picture (send the service's `x-api-key`)")
    image_id: str = Field(description="The example it comes closest to")
    subject: str
    similarity: float


class FalseAcceptRate(BaseModel):
    rate: float
    similarity: float = Field(description="The threshold that accepts this share of the pairs")


class ThresholdAdvice(BaseModel):
    current: float = Field(description="The threshold in force (0.5 when the service has none)")
    current_false_accept_rate: float | None = Field(
        description="The share of different subjects' example pairs that it accepts"
    )
    pairs: int = Field(ge=0, description="Example pairs of different subjects")
    same_subject_pairs: int = Field(ge=0)
    by_rate: list[FalseAcceptRate]
    suggested: float | None
    suggested_false_accept_rate: float | None
    suggested_false_reject_rate: float | None = Field(
        description="The share of same-subject example pairs that the suggestion refuses"
    )


class GalleryCheck(BaseModel):
    """What in the service's examples may make recognition wrong (docs/gallery-check.md)."""

    model: str = Field(description="The model whose embeddings were checked")
    examples: int = Field(ge=0, description="Examples searched (not set aside)")
    subjects: int = Field(ge=0)
    set_aside: list[CheckedExample]
    outliers: list[Outlier]
    confusable: list[CheckedPair] = Field(description="The closest examples of two subjects")
    duplicates: list[CheckedPair]
    quality: list[QualityRefusal] | None = Field(description="Null unless `quality=true`")
    strangers: list[CheckedStranger]
    threshold: ThresholdAdvice
    notes: list[str]


class RejectionQuery(BaseModel):
    """A face recognition wrongly gave `subject`: its embedding (`face_plugins=calculator`)."""

    subject: str = Field(min_length=1)
    embedding: Embedding


class Rejection(BaseModel):
    id: str
    subject: str
    model: str = Field(description="The model of the rejected embedding")
    created: str = Field(description="ISO 8601 in UTC")


class Rejections(BaseModel):
    rejections: list[Rejection] = Field(description="Newest first")


# --- keyless -----------------------------------------------------------------------------------


class ClientLimits(BaseModel):
    clientMaxFileSize: int = Field(description="Bytes")
    clientMaxBodySize: int = Field(description="Bytes")


class Consistency(BaseModel):
    demoFaceCollectionIsInconsistent: bool
    dbIsInconsistent: bool
    saveImagesToDB: bool
    status: str
