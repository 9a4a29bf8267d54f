"""What every predictor shares: the image rule, the memory budget and the options a checkpoint is
loaded with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.data.layers import unit_float

DEFAULT_MAX_PIXELS = 4_200_000
"""About 2048 x 2048: Composition-1k's largest images fit at full resolution."""
DEFAULT_TTA_SCALES = (1.0, 1.5)


@dataclass(frozen=True)
class PredictOptions:
    """How a checkpoint becomes a predictor: the device (``auto``: CUDA if present), test-time
    augmentation (matting networks only) and the pixel budget above which an image is predicted
    scaled down (see :mod:`training.inference.fba`)."""

    device: str = "auto"
    tta: bool = False
    tta_scales: tuple[float, ...] = DEFAULT_TTA_SCALES
    max_pixels: int = DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class MattingPrediction:
    """alpha HxW, fg and bg HxWx3, float32 in [0, 1]."""

    alpha: np.ndarray
    fg: np.ndarray
    bg: np.ndarray


def unit_rgb(image: np.ndarray) -> np.ndarray:
    """An HxWx3 uint8 or uint16 image (benchmarks keep 16 bits) as float32 in [0, 1], divided by
    its full scale as the training loaders do (:func:`training.data.layers.unit_float`): the
    networks see 16-bit precision when there is some, never a second rounding to 8 bits."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"image must be HxWx3 uint8 or uint16, got {image.dtype} {image.shape}")
    return unit_float(image)


BAND_ROWS = 512
"""Rows per band of the per-pixel steps around a network (fusion, the trimap's regions,
quantisation, the composite): at full size a float temporary of a 100 MP picture is gigabytes,
while a band of 512 rows of a 12000-pixel-wide one is about 70 MB."""


def row_bands(h: int) -> list[slice]:
    """The bands of BAND_ROWS rows covering ``h`` rows, in order."""
    return [slice(y, min(h, y + BAND_ROWS)) for y in range(0, h, BAND_ROWS)]
