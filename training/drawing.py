"""Results drawn over the image they came from, for people: ``training predict``'s overlay.png and
the web demo's view. numpy and OpenCV only, so the demo draws without loading a network's code."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from training.clicks import Click

POSITIVE_RGB, NEGATIVE_RGB, TINT_RGB = (0, 200, 0), (230, 30, 30), (40, 120, 255)


def overlay(image: np.ndarray, weight: np.ndarray, clicks: Sequence[Click]) -> np.ndarray:
    """``image`` (HxWx3 uint8) tinted blue at 45% x ``weight`` (HxW in [0, 1]: a mask, or an alpha
    by opacity) and each click a dot with a white rim (green positive, red negative), its radius
    growing with the image so it stays visible. ``training predict`` and the web demo draw with it."""
    tint = 0.45 * np.asarray(weight, np.float32)[..., None]
    out = np.rint(image.astype(np.float32) * (1 - tint) + tint * np.asarray(TINT_RGB, np.float32)).astype(np.uint8)
    radius = max(3, round(max(out.shape[:2]) / 120))
    for y, x, positive in clicks:
        cv2.circle(out, (x, y), radius, POSITIVE_RGB if positive else NEGATIVE_RGB, -1, cv2.LINE_AA)
        cv2.circle(out, (x, y), radius, (255, 255, 255), 1, cv2.LINE_AA)
    return out
