"""What both detectors (RetinaFace, SCRFD) share: an ONNX Runtime session, the sizes of their
looks at a photo, and how the looks are taken and merged (`geometry.looks`)."""

from __future__ import annotations

from facegate.engine import geometry, runtime
from facegate.engine.types import Detections, Pixels


class LookingDetector:
    """A detector that looks at a photo at `max_detect_size`, again at `fine_detect_size` for
    small faces when that is larger, and at the photo framed when it finds nothing
    (`geometry.looks`); a subclass says how one look is taken (`look`) and which colour its
    network's input normalises to zero (`FILL`, the frame's)."""

    FILL: tuple[int, int, int]

    def __init__(
        self,
        session: runtime.Network,
        *,
        max_detect_size: int,
        fine_detect_size: int = 0,
    ) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self._max_side = max_detect_size
        self._fine_side = fine_detect_size

    def detect(self, pixels: Pixels, *, threshold: float) -> Detections:
        """Faces scoring strictly above `threshold` (CompreFace drops `probability <= t`), in
        `pixels` coordinates, highest score first."""
        return geometry.looks(
            lambda image, max_side: self.look(image, max_side, threshold),
            pixels,
            size=self._max_side,
            fine_size=self._fine_side,
            fill=self.FILL,
        )

    def look(self, pixels: Pixels, max_side: int, threshold: float) -> Detections:
        """One run of the network on `pixels` shrunk to `max_side`, in `pixels` coordinates."""
        raise NotImplementedError
