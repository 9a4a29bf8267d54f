"""What ``training predict`` writes.

Matting checkpoints: alpha, F, B and a composite of alpha x F onto a new background. The
composite shows the two things a matte is for at once: whether alpha is right (edges, hair)
and whether F is (no colour from the old background bleeding through), which alpha x the
original image would hide.

Interactive segmentation checkpoints: the mask, the probability it was thresholded from, and an
overlay of the image with the mask tinted and the clicks drawn (green positive, red negative),
the one picture that shows whether the clicks were read where the user meant them.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from matplotlib.colors import to_rgb

from datagen.compose.convert import quantize_alpha, to_unit_float
from datagen.imageio import read_image, write_png
from datagen.shardtools.preview import checkerboard
from training.evaluation.robots import Click
from training.inference import MattingPrediction
from training.drawing import overlay
from training.inference_iseg import MASK_THRESHOLD

OUTPUTS = ("alpha.png", "fg.png", "bg.png", "composite.png")
ISEG_OUTPUTS = ("mask.png", "probability.png", "overlay.png")


def to_uint8(image: np.ndarray) -> np.ndarray:
    """An 8- or 16-bit image as uint8 (rounded to nearest), the input the networks take."""
    return quantize_alpha(to_unit_float(image))


def background_for(spec: str | None, shape: tuple[int, int]) -> np.ndarray:
    """HxWx3 uint8: a checkerboard (``None``), an image file resized to cover ``shape`` and
    centre-cropped, or a colour (a name or ``#rrggbb``, as matplotlib reads them)."""
    h, w = shape
    if spec is None:
        return checkerboard((h, w), square=max(8, min(h, w) // 24))
    if Path(spec).is_file():
        image = to_uint8(read_image(spec))
        scale = max(h / image.shape[0], w / image.shape[1])
        size = (max(w, round(image.shape[1] * scale)), max(h, round(image.shape[0] * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        y, x = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
        return np.ascontiguousarray(image[y:y + h, x:x + w])
    try:
        colour = np.array(to_rgb(spec), np.float32)
    except ValueError:
        raise ValueError(f"--background {spec!r}: neither an image file nor a colour "
                         "(a name like 'white' or '#00ff00')") from None
    return np.broadcast_to(quantize_alpha(colour), (h, w, 3)).copy()


def composite(pred: MattingPrediction, background: np.ndarray) -> np.ndarray:
    """alpha F + (1 - alpha) background, uint8."""
    a = pred.alpha[..., None]
    return quantize_alpha(a * pred.fg + (1 - a) * (background.astype(np.float32) / 255))


def write_prediction(out: str | Path, pred: MattingPrediction, background: np.ndarray) -> list[Path]:
    """The four PNGs of :data:`OUTPUTS` in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    arrays = (quantize_alpha(pred.alpha), quantize_alpha(pred.fg), quantize_alpha(pred.bg),
              composite(pred, background))
    paths = [out / name for name in OUTPUTS]
    for path, array in zip(paths, arrays):
        write_png(path, array)
    return paths



def write_iseg_prediction(out: str | Path, image: np.ndarray, prob: np.ndarray, clicks: list[Click]) -> list[Path]:
    """The three PNGs of :data:`ISEG_OUTPUTS` in ``out``: mask (0/255, probability >= 0.5),
    probability (clipped to [0, 1], 8 bits) and the overlay of ``image``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    mask = prob >= MASK_THRESHOLD
    arrays = (mask.astype(np.uint8) * 255, quantize_alpha(np.clip(prob, 0.0, 1.0)), overlay(image, mask, clicks))
    paths = [out / name for name in ISEG_OUTPUTS]
    for path, array in zip(paths, arrays):
        write_png(path, array)
    return paths
