"""Automatic clickers that stand in for a user (spec §B.2 protocol R, §B.6 protocol L and matting robot).

A click is :data:`training.clicks.Click`, ``(y, x, is_positive)``. Each robot looks at the ground truth and the current
prediction and returns the next click. The rules (padding, ties, exclusions) are the ones
that decide published numbers, so each is a named step below.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from training.clicks import NO_ERROR, Click

_EIGHT = np.ones((3, 3), dtype=bool)


def _binary(name: str, pred: np.ndarray) -> np.ndarray:
    """A robot sees a binary prediction; refuse floats so a probability is never read as ``> 0``."""
    pred = np.asarray(pred)
    if pred.dtype != bool and not np.issubdtype(pred.dtype, np.integer):
        raise TypeError(f"{name}: expected a boolean mask (threshold probabilities first), got {pred.dtype}")
    return pred.astype(bool)


def padded_edt(mask: np.ndarray) -> np.ndarray:
    """Exact Euclidean distance to the nearest non-mask pixel, outside the image counting as non-mask."""
    return ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]


def _first_argmax(values: np.ndarray) -> tuple[int, int]:
    """First row-major position of the maximum (``np.argmax`` returns the first occurrence)."""
    y, x = np.unravel_index(int(np.argmax(values)), values.shape)
    return int(y), int(x)


def _deepest_point(region: np.ndarray) -> tuple[int, int]:
    """First row-major maximum of the padded EDT of ``region``, computed on its bounding box only.

    The box is padded by one zero pixel either way, so distances equal the full-image ones.
    """
    ys, xs = np.nonzero(region.any(axis=1))[0], np.nonzero(region.any(axis=0))[0]
    y0, y1, x0, x1 = ys[0], ys[-1] + 1, xs[0], xs[-1] + 1
    y, x = _first_argmax(padded_edt(region[y0:y1, x0:x1]))
    return y + int(y0), x + int(x0)


def _components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected labels; scipy numbers components by their first pixel in row-major order."""
    return ndimage.label(mask, structure=_EIGHT)


def _largest_component(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Largest 8-connected component (ties: first in row-major order) and its size; size 0 if empty."""
    labels, n = _components(mask)
    if n == 0:
        return np.zeros_like(mask, dtype=bool), 0
    sizes = np.bincount(labels.ravel())[1:]
    best = int(np.argmax(sizes)) + 1           # labels are in row-major order of first pixel
    return labels == best, int(sizes[best - 1])


# --------------------------------------------------------------------------- protocol R
def error_masks(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FN, FP) with ignore pixels (gt = −1) in neither (§B.2 step 1)."""
    gt = np.asarray(gt)
    valid = gt != -1
    return (gt == 1) & ~pred & valid, (gt != 1) & pred & valid


def next_click_ritm(gt: np.ndarray, pred: np.ndarray, clicks: Sequence[Click]) -> Click:
    """Protocol R (RITM ``Clicker``): deepest error pixel over FN and FP, clicked pixels excluded.

    ``gt`` is int {−1, 0, 1}; ``pred`` the binary prediction. Equal depths give a negative
    click; with no error left the click is negative at (0, 0) and still counts (§B.2).
    """
    pred = _binary("pred", pred)
    fn, fp = error_masks(gt, pred)
    not_clicked = np.ones(pred.shape, bool)
    for y, x, _ in clicks:
        not_clicked[y, x] = False
    d_fn = padded_edt(fn) * not_clicked
    d_fp = padded_edt(fp) * not_clicked
    m_fn, m_fp = float(d_fn.max(initial=0.0)), float(d_fp.max(initial=0.0))
    if m_fn == 0.0 and m_fp == 0.0:
        return (0, 0, False)
    positive = m_fn > m_fp
    y, x = _first_argmax(d_fn if positive else d_fp)
    return (y, x, positive)


# --------------------------------------------------------------------------- protocol L
def next_click_largest_region(gt: np.ndarray, pred: np.ndarray, clicks: Sequence[Click]) -> Click:
    """Protocol L (thesis Algorithm 1): interior point of the largest 8-connected error region.

    ``clicks`` is accepted for a uniform robot signature but unused: this robot does not
    exclude earlier clicks. Equal region sizes give a negative click; no error at all
    returns ``(-1, -1, False)``, which the evaluation loop maps explicitly (§B.6 step 7).
    """
    del clicks
    pred = _binary("pred", pred)
    gt = np.asarray(gt)
    fp_region, n_fp = _largest_component((gt == 0) & pred)
    fn_region, n_fn = _largest_component((gt == 1) & ~pred)
    if n_fp == 0 and n_fn == 0:
        return NO_ERROR
    positive = n_fn > n_fp
    y, x = _deepest_point(fn_region if positive else fp_region)
    return (y, x, positive)


# --------------------------------------------------------------------------- matting robot
def next_click_matting(gt_alpha: np.ndarray, pred_alpha: np.ndarray, clicks: Sequence[Click]) -> Click:
    """Matting robot (thesis Ch. 5.2, spec §B.6) on uint8 mattes.

    Error regions are 8-connected parts of (gt = 255, pred < 255) and (gt = 0, pred > 0),
    scored by Σ (pred − gt)²; the best one is clicked at its interior point, positive for a
    foreground region. Score ties go to background regions, then to the first region in
    row-major order. Earlier clicks are not excluded (``clicks`` unused). No error:
    ``(-1, -1, False)``.
    """
    del clicks
    gt = np.asarray(gt_alpha)
    pred = np.asarray(pred_alpha)
    if gt.dtype != np.uint8 or pred.dtype != np.uint8:
        raise TypeError("next_click_matting: expected uint8 mattes (quantise with quantize_alpha)")
    sq = (pred.astype(np.int64) - gt.astype(np.int64)) ** 2
    best: tuple[int, np.ndarray | None, bool] = (0, None, False)
    # background first so that, on equal score, the strict ">" keeps the background region.
    for positive, mask in ((False, (gt == 0) & (pred > 0)), (True, (gt == 255) & (pred < 255))):
        labels, n = _components(mask)
        if n == 0:
            continue
        scores = ndimage.sum_labels(sq, labels, index=np.arange(1, n + 1)).astype(np.int64)
        k = int(np.argmax(scores))
        if scores[k] > best[0]:
            best = (int(scores[k]), labels == k + 1, positive)
    if best[1] is None:
        return NO_ERROR
    y, x = _deepest_point(best[1])
    return (y, x, best[2])
