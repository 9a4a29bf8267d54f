"""What every predictor shares: the image rule, the memory budget and the options a checkpoint is
loaded with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.checkpoint import restore_network
from training.data.layers import unit_float

DEFAULT_MAX_PIXELS = 4_200_000
"""About 2048 x 2048: Composition-1k's largest images fit at full resolution."""
DEFAULT_TTA_SCALES = (1.0, 1.5)


@dataclass(frozen=True)
class PredictOptions:
    """How a checkpoint becomes a predictor: the device (``auto``: CUDA if present), test-time
    augmentation (matting networks only), the pixel budget above which an image is predicted
    scaled down, and the tile side that predicts it in windows instead (see :mod:`training.inference.fba`)."""

    device: str = "auto"
    tta: bool = False
    tta_scales: tuple[float, ...] = DEFAULT_TTA_SCALES
    max_pixels: int = DEFAULT_MAX_PIXELS
    tile: int = 0
    """Matting networks: predict at full resolution in overlapping windows of this side instead
    of scaling an image above ``max_pixels`` down (0: off; :mod:`training.inference.fba`)."""


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


def network_of(path: str | Path, state: dict[str, Any], model: type, config: Any) -> Any:
    """The network a predictor runs: the torch network a checkpoint ``state`` holds, or, for an
    exported file (:func:`training.inference.load.load_network` puts it in ``state["exported"]``),
    the exported network with its model config attached, so that a predictor reads the same
    config fields (fusion in the forward, click sigmas) from either."""
    exported = state.get("exported")
    if exported is None:
        return restore_network(path, state, model, config)
    exported.config = config.from_dict(state["model_config"])
    return exported


BAND_ROWS = 512
"""Rows per band of the per-pixel steps around a network (fusion, the trimap's regions,
quantisation, the composite): at full size a float temporary of a 100 MP picture is gigabytes,
while a band of 512 rows of a 12000-pixel-wide one is about 70 MB."""


def row_bands(h: int) -> list[slice]:
    """The bands of BAND_ROWS rows covering ``h`` rows, in order."""
    return [slice(y, min(h, y + BAND_ROWS)) for y in range(0, h, BAND_ROWS)]
