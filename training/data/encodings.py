"""The FBA trimap encoding: Gaussians of the distance to the definite FG and BG regions.

Thesis Ch. 4.3.1 and 5.2.1: the two definite-region masks are "transformed into distance maps,
and Gaussian functions are applied at 3 different scales", ``exp(-d^2 / (2 sigma^2))`` with ``d``
the Euclidean distance from a pixel to the nearest pixel of the mask (so 1 on the mask itself).
The text gives sigma = 6.4, 25.2 and 51.2 px. We use 6.4, 25.6 and 51.2: these are 0.02, 0.08 and
0.16 of the 320 px training size, the same "fraction of L" form as the click maps of Ch. 3.2.1
(sigma * L with L the crop side), of which 25.2 is not (0.07875 L); we read 25.2 as a typo.
The sigmas are in pixels and fixed, not scaled with the image, so a full-resolution test image
gets the same encoding per pixel as a 320 px training crop. The same function encodes user clicks
(interactive matting, Ch. 5.2.1) because a click set is also two sparse masks.

Channel order: the three FG maps (small to large sigma), then the three BG maps, matching the
``trimap2`` order (FG, BG) the network takes.

Determinism: OpenCV's exact distance transform rounds differently with different thread counts
(a DataLoader worker and the main process gave maps ~1e-6 apart). The squared Euclidean distance
between pixels is an integer, so rounding cv2's squared result to the nearest integer recovers it
exactly (while its error stays below 0.5, i.e. for distances under ~1400 px; the default sigmas
give exactly 0 long before that): the maps are then a function of the masks alone.
"""

from __future__ import annotations

import cv2
import numpy as np

FBA_SIGMAS_PX = (6.4, 25.6, 51.2)
"""Default sigmas in pixels: 0.02, 0.08 and 0.16 of the 320 px training crop (see the module notes)."""


def distance_to_mask(mask: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance (float32, pixels) from every pixel to the nearest True pixel of
    ``mask``; +inf everywhere when the mask is empty (no pixel to be near to)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be HxW, got shape {mask.shape}")
    if not mask.any():
        return np.full(mask.shape, np.inf, np.float32)
    # cv2 measures the distance to the nearest zero pixel; DIST_MASK_PRECISE is the exact EDT.
    return cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def squared_distance_to_mask(mask: np.ndarray) -> np.ndarray:
    """Squared distance to the nearest True pixel as float32 holding exact integers (see the
    module notes on determinism); +inf everywhere for an empty mask."""
    square = np.square(distance_to_mask(mask), dtype=np.float64)
    return np.rint(square, out=square).astype(np.float32)  # inf stays inf, and exp(-inf) = 0


def distance_maps(fg_mask: np.ndarray, bg_mask: np.ndarray, sigmas_px=FBA_SIGMAS_PX) -> np.ndarray:
    """The 6 (= 2 x len(sigmas)) trimap channels, float32 CxHxW in [0, 1].

    ``fg_mask``/``bg_mask``: HxW bool (or 0/1) definite-foreground and definite-background maps.
    Channel ``k * len(sigmas) + j`` is ``exp(-d_k^2 / (2 sigma_j^2))`` with ``d_k`` the distance
    to mask ``k`` (FG first); an empty mask gives all-zero channels.
    """
    fg_mask, bg_mask = np.asarray(fg_mask), np.asarray(bg_mask)
    if fg_mask.shape != bg_mask.shape:
        raise ValueError(f"fg_mask {fg_mask.shape} and bg_mask {bg_mask.shape} differ in size")
    sigmas = [float(s) for s in sigmas_px]
    if not sigmas or min(sigmas) <= 0:
        raise ValueError(f"sigmas must be positive pixel values, got {list(sigmas_px)}")
    out = np.empty((2 * len(sigmas),) + fg_mask.shape, np.float32)
    for k, mask in enumerate((fg_mask, bg_mask)):
        square = squared_distance_to_mask(mask)
        for j, sigma in enumerate(sigmas):
            np.exp(square * np.float32(-0.5 / sigma**2), out=out[k * len(sigmas) + j])
    return out
