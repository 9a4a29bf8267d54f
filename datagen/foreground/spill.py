"""Colour-spill score: how much a foreground's invalid colours leak into a resampled composite.

Augmentation resamples F and alpha separately (straight, not premultiplied colours). Where the
shipped F is invalid (alpha = 0, often black), the filter mixes those colours into the object's
transparent edge. The score simulates an aggressive case: F and alpha are downsampled by
`factor` (area average) and upsampled back (bilinear), composited onto neutral grey, and
compared in the transparent band 0 < alpha < 1 with the same resampling done right, i.e. on the
premultiplied colours ``alpha * F`` (which never see the invalid colours, since they are
multiplied by 0 there). The difference is exactly the spill: colours from where alpha is small
or 0 dragged into the edge. A foreground valid at every pixel scores near 0; one that is black
outside the object scores high. (Accuracy of F is a separate question: see the composite
residual of the refit report.)
"""

from __future__ import annotations

import cv2
import numpy as np

GREY = 0.5


def _down_up(array: np.ndarray, factor: int) -> np.ndarray:
    h, w = array.shape[:2]
    small = cv2.resize(array, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).reshape(array.shape)


def resampled_composite(foreground: np.ndarray, alpha: np.ndarray, factor: int = 8) -> np.ndarray:
    """Composite on grey after resampling straight F and alpha down and up by `factor` (as augmentation does)."""
    return _composite(foreground, _down_up(alpha, factor)[..., None], factor)


def _composite(foreground: np.ndarray, resampled_alpha: np.ndarray, factor: int) -> np.ndarray:
    return resampled_alpha * _down_up(foreground, factor) + (1.0 - resampled_alpha) * GREY


def spill_score(foreground: np.ndarray, alpha: np.ndarray, factor: int = 8) -> float:
    """Mean colour error (0..255 scale) in 0 < alpha < 1 of `foreground` resampled straight vs premultiplied.

    `foreground` is the F to score (the shipped `fg`, or a refit `fg_full`), HxWx3, and `alpha`
    HxW, floats in [0, 1]. 0 if there is no transparent band.
    """
    band = (alpha > 0) & (alpha < 1)
    if not band.any():
        return 0.0
    a = _down_up(alpha, factor)[..., None]  # once: both composites use it
    reference = _down_up(alpha[..., None] * foreground, factor) + (1.0 - a) * GREY
    error = np.abs(_composite(foreground, a, factor) - reference).mean(axis=2)
    return float(error[band].mean() * 255.0)
