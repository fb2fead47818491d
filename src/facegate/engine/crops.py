"""Cutting face crops: least-squares similarity transforms, box-centred crops, affine warps."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

from facegate.engine.types import Pixels

Matrix = npt.NDArray[np.float64]


def similarity_transform(source: npt.ArrayLike, target: npt.ArrayLike) -> Matrix:
    """The 2x3 rotation + uniform scale + translation mapping `source` points onto `target`
    with the least squared error (Umeyama 1991, without reflection)."""
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1] = -1  # a reflection fits better; take the best proper rotation instead
    rotation = u @ np.diag(sign) @ vt
    variance = (src_c**2).sum() / len(src)
    scale = (singular * sign).sum() / variance if variance > 0 else 1.0
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])


def warp(pixels: Pixels, matrix: Matrix, size: int) -> Pixels:
    """The `size` x `size` chip that the 2x3 `matrix` (image -> chip) cuts from `pixels`,
    bilinear, black outside the image (as cv2.warpAffine with a constant border)."""
    inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
    # Pillow samples the source at inverse(x + 0.5, y + 0.5) and treats pixel centres as +0.5;
    # cv2 maps integer coordinates. Shifting both ends by half a pixel gives cv2's result.
    a, b, c = inverse[0]
    d, e, f = inverse[1]
    c += 0.5 - 0.5 * (a + b)
    f += 0.5 - 0.5 * (d + e)
    chip = Image.fromarray(pixels).transform(
        (size, size), Image.Transform.AFFINE, (a, b, c, d, e, f), Image.Resampling.BILINEAR
    )
    return np.asarray(chip)


def box_crop(box: npt.ArrayLike, size: int, *, margin: float = 1.5) -> Matrix:
    """The 2x3 matrix cutting a `size` square centred on `box` (x_min, y_min, x_max, y_max)
    whose side is `margin` times the box's longer side (InsightFace's landmark and attribute
    crops)."""
    x_min, y_min, x_max, y_max = (float(v) for v in np.asarray(box)[:4])
    scale = size / (max(x_max - x_min, y_max - y_min) * margin)
    centre_x, centre_y = (x_min + x_max) / 2, (y_min + y_max) / 2
    return np.array(
        [[scale, 0.0, size / 2 - scale * centre_x], [0.0, scale, size / 2 - scale * centre_y]]
    )


def to_image(points: npt.ArrayLike, matrix: Matrix) -> npt.NDArray[np.float64]:
    """Points in crop coordinates (N, 2) mapped back through the inverse of `matrix`."""
    inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
    pts = np.asarray(points, dtype=np.float64)
    mapped: npt.NDArray[np.float64] = pts @ inverse[:, :2].T + inverse[:, 2]
    return mapped
