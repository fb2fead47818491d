"""What the engine reads of the server's settings, handed to it explicitly: the engine never
sees the whole `Settings` (database URLs, passwords, mail)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from facegate.config import Settings


@dataclass(frozen=True)
class EngineOptions:
    model: str  # the model set (docs/models.md)
    data_dir: Path  # its models/ folder holds the converted dlib network and model packs
    device: Literal["auto", "cpu", "cuda", "openvino"]
    openvino_device: str  # OpenVINO's device_type: CPU, GPU, NPU, AUTO:GPU,CPU
    threads: int  # per ONNX Runtime session
    embedder: Literal["onnx", "dlib"]  # runtime of dlib's network
    precision: Literal["float32", "int8"]  # of dlib's network on ONNX Runtime
    max_detect_size: int
    fine_detect_size: int  # 0: no second, finer look for small faces
    max_image_pixels: int

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineOptions:
        return cls(
            model=settings.model,
            data_dir=settings.data_dir,
            device=settings.device,
            openvino_device=settings.openvino_device,
            threads=settings.threads,
            embedder=settings.embedder,
            precision=settings.precision,
            max_detect_size=settings.max_detect_size,
            fine_detect_size=settings.fine_detect_size,
            max_image_pixels=settings.max_image_pixels,
        )
