"""What every predictor shares: the image rule, the memory budget and the options a checkpoint is
loaded with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.checkpoint import CheckpointError, restore_network
from training.data.layers import unit_float
from training.distributed import resolve_device
from training.models.gnws import fold_weight_standardisation
from training.models.pyramid_fold import fold_pyramid_pooling
from training.models.winograd import nnpack_available, use_winograd

DEFAULT_MAX_PIXELS = 4_200_000
"""About 2048 x 2048: Composition-1k's largest images fit at full resolution."""
DEFAULT_TTA_SCALES = (1.0, 1.5)
CONV_CHOICES = ("auto", "winograd", "direct")
"""How a checkpoint's convolutions compute at inference: ``winograd`` on the CPU (the 3x3 ones by
:mod:`training.models.winograd`, the pyramid pooling folded into the next one by
:mod:`training.models.pyramid_fold`; outputs within ~1e-4), ``direct`` (the network as trained,
``F.conv2d``), ``auto`` (winograd on the CPU where this torch has NNPACK, else direct)."""


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
    conv: str = "auto"
    """One of :data:`CONV_CHOICES`; checkpoints only (an exported file runs in its own runtime)."""


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


def network_of(path: str | Path, state: dict[str, Any], model: type, config: Any,
               options: PredictOptions = PredictOptions()) -> Any:
    """The network a predictor runs: the torch network a checkpoint ``state`` holds, prepared for
    inference (:func:`inference_network`), or, for an exported file
    (:func:`training.inference.load.load_network` puts it in ``state["exported"]``), the exported
    network with its model config attached, so that a predictor reads the same config fields
    (fusion in the forward, click sigmas) from either."""
    exported = state.get("exported")
    if exported is None:
        return inference_network(restore_network(path, state, model, config), options, str(path))
    if options.conv == "winograd":
        raise CheckpointError(f"{path}: --conv winograd is for checkpoints; an exported file runs in its own runtime")
    exported.config = config.from_dict(state["model_config"])
    return exported


def inference_network(net: Any, options: PredictOptions, source: str = "") -> Any:
    """``net`` as predictors run it: weight standardisation folded into the convolutions (the
    same outputs bit for bit, without recomputing it on every call) and, on the CPU as
    ``options.conv`` says (see :data:`CONV_CHOICES`), the 3x3 convolutions by Winograd and the
    pyramid pooling's branches folded into the convolution after it
    (:mod:`training.models.pyramid_fold`)."""
    if options.conv not in CONV_CHOICES:
        raise ValueError(f"conv must be one of {', '.join(CONV_CHOICES)}, got {options.conv!r}")
    net = fold_weight_standardisation(net).eval()
    on_cpu = resolve_device(options.device).type == "cpu"
    if options.conv == "winograd":
        if not on_cpu:
            raise CheckpointError(f"{source}: --conv winograd is for --device cpu (a GPU picks its own algorithms)")
        if not nnpack_available():
            raise CheckpointError(f"{source}: --conv winograd needs NNPACK, which this torch build lacks (use --conv direct)")
    if options.conv == "winograd" or (options.conv == "auto" and on_cpu and nnpack_available()):
        net = use_winograd(fold_pyramid_pooling(net)).eval()
    return net


BAND_ROWS = 512
"""Rows per band of the per-pixel steps around a network (fusion, the trimap's regions,
quantisation, the composite): at full size a float temporary of a 100 MP picture is gigabytes,
while a band of 512 rows of a 12000-pixel-wide one is about 70 MB."""


def row_bands(h: int) -> list[slice]:
    """The bands of BAND_ROWS rows covering ``h`` rows, in order."""
    return [slice(y, min(h, y + BAND_ROWS)) for y in range(0, h, BAND_ROWS)]
