"""Trimaps from ground-truth alpha: the fixed benchmark rule and the random training rule.

A trimap is HxW uint8 with 255 = definite foreground, 0 = definite background and 128 =
unknown. Benchmarks need one reproducible trimap per matte (:func:`trimap_from_alpha`); FBA
training needs a different band every time it sees an object, so the network does not learn
one band width (:func:`random_trimap`, thesis Ch. 4.3.4: erosion/dilation of 3-25 px).
"""

from __future__ import annotations

import cv2
import numpy as np

FG, UNKNOWN, BG = 255, 128, 0


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _opaque_and_visible(alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alpha == full scale, alpha > 0) as uint8 masks, at the alpha's own precision."""
    alpha = np.asarray(alpha)
    if alpha.ndim != 2:
        raise ValueError(f"alpha must be HxW, got shape {alpha.shape}")
    full = np.iinfo(alpha.dtype).max if np.issubdtype(alpha.dtype, np.integer) else 1.0
    return (alpha >= full).astype(np.uint8), (alpha > 0).astype(np.uint8)


def _assemble(core: np.ndarray, grown: np.ndarray) -> np.ndarray:
    trimap = np.where(grown > 0, UNKNOWN, BG).astype(np.uint8)
    trimap[core > 0] = FG
    return trimap


def trimap_from_alpha(alpha: np.ndarray, radius: int) -> np.ndarray:
    """The benchmark trimap: unknown within ``radius`` px of any pixel that is not opaque-inside.

    Rule: unknown = dilate(alpha > 0) minus erode(alpha == full), both with a disk of the given
    radius; 255 where the eroded opaque region remains, 0 elsewhere. This dilates the
    transparent region (0 < alpha < full) and also covers hard 0/full edges, which a pure
    dilation of the transparent pixels would leave without an unknown band. Pixels outside the
    image count as neither (they never shrink the opaque region).
    """
    opaque, visible = _opaque_and_visible(alpha)
    kernel = _disk(radius)
    grown = cv2.dilate(visible, kernel)
    core = cv2.erode(opaque, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=1)
    return _assemble(core, grown)


def random_trimap(alpha: np.ndarray, rng: np.random.Generator, min_radius: int = 3, max_radius: int = 25) -> np.ndarray:
    """A training trimap: the opaque region eroded and the visible region dilated by two radii
    drawn independently and uniformly from ``[min_radius, max_radius]`` px.

    Independent radii make the band asymmetric as user trimaps are. An object with no opaque
    pixel gets no definite foreground, which is what a user would draw for glass or smoke.
    """
    if not 0 <= min_radius <= max_radius:
        raise ValueError(f"need 0 <= min_radius <= max_radius, got {min_radius}, {max_radius}")
    opaque, visible = _opaque_and_visible(alpha)
    r_fg, r_bg = (int(r) for r in rng.integers(min_radius, max_radius + 1, size=2))
    grown = cv2.dilate(visible, _disk(r_bg))
    core = cv2.erode(opaque, _disk(r_fg), borderType=cv2.BORDER_CONSTANT, borderValue=1)
    return _assemble(core, grown)


def check_trimap(trimap: np.ndarray, shape: tuple[int, int], name: str = "trimap") -> np.ndarray:
    """Return ``trimap`` as uint8 if it is HxW of ``shape`` with values in {0, 128, 255}; else a
    ValueError that says which rule it breaks (sizes as WxH, the way image tools print them)."""
    trimap = np.asarray(trimap)
    if trimap.shape != tuple(shape):
        got = f"{trimap.shape[1]}x{trimap.shape[0]}" if trimap.ndim == 2 else f"shape {trimap.shape}"
        raise ValueError(f"{name} is {got}, the image is {shape[1]}x{shape[0]}")
    bad = ~np.isin(trimap, (BG, UNKNOWN, FG))
    if bad.any():
        raise ValueError(f"{name} has values other than 0/128/255 (e.g. {trimap[bad][0]})")
    return trimap.astype(np.uint8)


def trimap_masks(trimap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(definite foreground, definite background) boolean maps: the thesis's two sparse maps."""
    trimap = np.asarray(trimap)
    return trimap == FG, trimap == BG
