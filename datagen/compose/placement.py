"""Geometry of putting an object onto a square canvas: one affine warp of colour and alpha.

An object (colour + alpha, any size) is cropped to its alpha box, then mapped by a single
similarity transform (scale, rotation about its box centre, optional horizontal flip,
translation of the box centre to a canvas point). Colour and alpha go through the *same*
matrix so they stay registered. Colour should be a foreground that is valid everywhere
(``fg_full``): bilinear resampling mixes neighbours, and with a foreground that is only
valid where alpha > 0 the invalid (often black) colours bleed into the edge.

Why the pre-shrink: ``cv2.warpAffine`` has no area filter, so shrinking by more than 2x
aliases (thin hair breaks up). Large reductions first go through an integer-factor box
filter (``cv2.resize(INTER_AREA)``, fast and exact at integer factors), and the warp then
only has a factor between 0.5 and 1 left.

Why warp into a window: the warp costs per *output* pixel; an object covering 20% of the
canvas is warped only into the canvas box its corners reach.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from datagen.compose.blend import alpha_bbox
from datagen.compose.convert import to_uint8

# Crop margin around the alpha box: bilinear taps reach one pixel out.
MARGIN = 2


@dataclass(frozen=True)
class Placement:
    """Where an object goes: the canvas box centre ``(cx, cy)`` in pixels, uniform ``scale``
    (output pixels per source pixel), ``angle`` in degrees (counter-clockwise) and ``flip``
    (mirror left-right before rotating)."""

    cx: float
    cy: float
    scale: float
    angle: float
    flip: bool


@dataclass(frozen=True)
class Patch:
    """A warped object: uint8 colour (h x w x 3) and alpha (h x w) whose top-left corner sits at
    canvas pixel ``(y, x)``. Empty when the object lands fully outside the canvas."""

    y: int
    x: int
    fg: np.ndarray
    alpha: np.ndarray


def scale_for_area(box_h: int, box_w: int, size: int, area: float) -> float:
    """Scale at which an object's ``box_h x box_w`` alpha box covers ``area`` of a ``size``^2 canvas."""
    return math.sqrt(area * size * size / (box_h * box_w))


def object_box(alpha: np.ndarray) -> tuple[int, int, int, int]:
    """Alpha box ``(y0, y1, x0, x1)``; raises ValueError for an all-transparent object."""
    box = alpha_bbox(alpha)
    if box is None:
        raise ValueError("object alpha is empty (all zero)")
    return box


def warp_object(
    fg: np.ndarray, alpha: np.ndarray, place: Placement, size: int, full: bool = False
) -> Patch:
    """Warp ``fg`` (HxWx3 uint8/uint16) and ``alpha`` (HxW uint8/uint16) onto a ``size``^2 canvas.

    Returns the patch covering the object's footprint, or with ``full=True`` the whole
    canvas (colour extended by edge replication, as a matting ``fg`` field needs).
    """
    y0, y1, x0, x1 = object_box(alpha)
    h, w = alpha.shape
    y0, x0 = max(y0 - MARGIN, 0), max(x0 - MARGIN, 0)
    y1, x1 = min(y1 + MARGIN, h), min(x1 + MARGIN, w)
    # 8-bit before resampling: the output is 8-bit, the warp of uint8 is ~1.6x faster, and the
    # double rounding moves a value by at most one level.
    fg, alpha = to_uint8(fg[y0:y1, x0:x1]), to_uint8(alpha[y0:y1, x0:x1])
    bh, bw = alpha.shape
    scale = place.scale
    # Source -> canvas: centre the box, flip, scale+rotate, move to (cx, cy). 3x3 homogeneous.
    m = _translate(place.cx, place.cy) @ _rotate_scale(place.angle, scale)
    if place.flip:
        m = m @ np.diag([-1.0, 1.0, 1.0])
    m = m @ _translate(-(bw - 1) / 2, -(bh - 1) / 2)
    if scale < 0.5:
        # Box-filter shrink by an integer factor k (cv2's fast exact INTER_AREA path needs the
        # size to be a multiple of k: pad), leaving the warp a factor in (0.5, 1].
        k = int(1 / scale)
        ph, pw = -bh % k, -bw % k
        fg = cv2.copyMakeBorder(fg, 0, ph, 0, pw, cv2.BORDER_REPLICATE)
        alpha = cv2.copyMakeBorder(alpha, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=0)
        fg = cv2.resize(fg, ((bw + pw) // k, (bh + ph) // k), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, ((bw + pw) // k, (bh + ph) // k), interpolation=cv2.INTER_AREA)
        # cv2.resize maps pixel centres: x_dst = (x_src + 0.5) / k - 0.5; undo it.
        resize = np.array([[1 / k, 0, 0.5 / k - 0.5], [0, 1 / k, 0.5 / k - 0.5], [0, 0, 1.0]])
        m = m @ np.linalg.inv(resize)
    if full:
        wy0, wx0, wy1, wx1 = 0, 0, size, size
    else:
        wy0, wx0, wy1, wx1 = _footprint(m, alpha.shape, size)
    if wy1 <= wy0 or wx1 <= wx0:
        return Patch(0, 0, np.zeros((0, 0, 3), np.uint8), np.zeros((0, 0), np.uint8))
    mw = (_translate(-wx0, -wy0) @ m)[:2]
    dsize = (wx1 - wx0, wy1 - wy0)
    flags = cv2.INTER_LINEAR
    fg_w = cv2.warpAffine(fg, mw, dsize, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    a_w = cv2.warpAffine(alpha, mw, dsize, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return Patch(wy0, wx0, fg_w, a_w)


def _footprint(m: np.ndarray, shape: tuple[int, int], size: int) -> tuple[int, int, int, int]:
    """Canvas window ``(y0, x0, y1, x1)`` holding every pixel the warped source can touch."""
    h, w = shape
    corners = np.array([[-1, -1, 1], [w, -1, 1], [-1, h, 1], [w, h, 1]], float).T
    xs, ys = (m @ corners)[:2]
    x0, x1 = max(math.floor(xs.min()), 0), min(math.ceil(xs.max()) + 1, size)
    y0, y1 = max(math.floor(ys.min()), 0), min(math.ceil(ys.max()) + 1, size)
    return y0, x0, y1, x1


def _translate(tx: float, ty: float) -> np.ndarray:
    return np.array([[1.0, 0, tx], [0, 1.0, ty], [0, 0, 1.0]])


def _rotate_scale(angle: float, scale: float) -> np.ndarray:
    """Counter-clockwise rotation on screen (y points down) times uniform scale."""
    c, s = math.cos(math.radians(angle)) * scale, math.sin(math.radians(angle)) * scale
    return np.array([[c, s, 0], [-s, c, 0], [0, 0, 1.0]])
