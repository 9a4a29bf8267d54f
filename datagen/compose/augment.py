"""Photometric and "realism" augmentations on uint8 RGB images (pure functions).

Photometric changes (gamma, brightness, saturation) are applied to an object's colours
before compositing so the same bank object looks different from sample to sample; they
leave alpha alone, so masks are unaffected. Realism degradations (JPEG re-encoding, blur,
sensor noise) are applied to the final composite to narrow the gap the thesis notes between
synthetic and real photos (different JPEG artifacts, resolution and noise, Ch. 3.4.2).
Every function is deterministic given its arguments (noise takes an explicit seed).
"""

from __future__ import annotations

import cv2
import numpy as np


def tone_lut(gamma: float, brightness: float) -> np.ndarray:
    """256-entry table ``clip(round(255 * (x/255)**gamma * brightness))``."""
    x = np.arange(256, dtype=np.float64) / 255.0
    return np.clip(np.rint(255.0 * x**gamma * brightness), 0, 255).astype(np.uint8)


def photometric(rgb: np.ndarray, gamma: float = 1.0, brightness: float = 1.0, saturation: float = 1.0) -> np.ndarray:
    """Gamma, then brightness (one lookup table), then saturation around BT.601 luma.

    ``saturation`` 0 gives grey, 1 the input, >1 more vivid. Identity parameters return
    the input unchanged (same values, new array). OpenCV's uint8 kernels (fixed-point luma,
    saturating weighted sum) are ~10x faster here than float numpy.
    """
    out = cv2.LUT(rgb, tone_lut(gamma, brightness)) if (gamma, brightness) != (1.0, 1.0) else rgb.copy()
    if saturation != 1.0:
        grey = cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        out = cv2.addWeighted(out, saturation, grey, 1.0 - saturation, 0.0)
    return out


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Re-encode as JPEG at ``quality`` (1..100) and decode, in memory."""
    ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if decoded is None:
        raise RuntimeError("JPEG decoding failed")
    return decoded[..., ::-1].copy()


def blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` pixels (kernel size from sigma)."""
    return cv2.GaussianBlur(rgb, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101)


def noise(rgb: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Add i.i.d. Gaussian noise of ``sigma`` grey levels (0..255 scale), rounded and clipped."""
    rng = np.random.default_rng(seed)
    f = rgb.astype(np.float32) + rng.standard_normal(rgb.shape, dtype=np.float32) * np.float32(sigma)
    return np.clip(np.rint(f), 0, 255).astype(np.uint8)
