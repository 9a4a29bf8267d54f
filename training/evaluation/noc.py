"""Per-image click curves -> dataset scores: NoC, mIoU@k, AuC, shares above x %, corrective accuracy.

Inputs are lists of per-image IoU sequences (IoU after click 1, 2, ...), as produced by the
click-by-click runner (spec §B.3-§B.5).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from training.clicks import Click
from training.clicks.robots import error_masks

SHARE_LEVELS = tuple(range(90, 100))
SHARE_CLICKS = (1, 5, 10, 20)


def noc_per_image(ious: Sequence[float], thr: float, max_clicks: int = 20) -> int:
    """First click k with IoU_k ≥ thr (inclusive, float64), else ``max_clicks`` (failures count as 20)."""
    for k, value in enumerate(ious[:max_clicks], start=1):
        if value >= thr:
            return k
    return max_clicks


def noc(all_ious: Sequence[Sequence[float]], thr: float, max_clicks: int = 20) -> float:
    """Dataset NoC@thr: mean of :func:`noc_per_image` over images (§B.4)."""
    if len(all_ious) == 0:
        raise ValueError("noc: no images")
    return float(np.mean([noc_per_image(i, thr, max_clicks) for i in all_ious]))


def noc_at_max(all_ious: Sequence[Sequence[float]], thr: float, max_clicks: int = 20) -> int:
    """RITM's "≥20@thr": images whose NoC equals ``max_clicks``, including those reaching thr exactly then."""
    return sum(noc_per_image(i, thr, max_clicks) == max_clicks for i in all_ious)


def failures(all_ious: Sequence[Sequence[float]], thr: float, max_clicks: int = 20) -> int:
    """True failures: images that never reach thr within ``max_clicks``."""
    return sum(not any(v >= thr for v in i[:max_clicks]) for i in all_ious)


NOC_LEVELS = (0.80, 0.85, 0.90, 0.95)


def noc_summary(all_ious: Sequence[Sequence[float]], thresholds: Sequence[float] = NOC_LEVELS,
                max_clicks: int = 20) -> dict[str, float | int]:
    """Per threshold τ (key ``round(100·τ)``): ``noc{k}``, RITM's ``noc20_images{k}`` (NoC = max_clicks,
    its "NoF") and ``failures{k}`` (never reaching τ): the NoC block of an iseg aggregate."""
    out: dict[str, float | int] = {}
    for thr in thresholds:
        key = round(thr * 100)
        out[f"noc{key}"] = noc(all_ious, thr, max_clicks)
        out[f"noc20_images{key}"] = noc_at_max(all_ious, thr, max_clicks)
        out[f"failures{key}"] = failures(all_ious, thr, max_clicks)
    return out


def _full_matrix(all_ious: Sequence[Sequence[float]]) -> np.ndarray:
    """Images x clicks array; refuses ragged input instead of truncating to the shortest like RITM."""
    lengths = {len(i) for i in all_ious}
    if len(lengths) != 1:
        raise ValueError(f"per-click curves need full runs of equal length, got lengths {sorted(lengths)}")
    return np.asarray(all_ious, dtype=np.float64)


def miou_per_click(all_ious: Sequence[Sequence[float]]) -> np.ndarray:
    """mIoU@k for k = 1..n from full runs (§B.5)."""
    return _full_matrix(all_ious).mean(axis=0)


def auc(all_ious: Sequence[Sequence[float]]) -> float:
    """Mean IoU over the 1..n click range (thesis "AuC"; no trapezoid rule)."""
    return float(miou_per_click(all_ious).mean())


def share_above(all_ious: Sequence[Sequence[float]], percent: int, k: int) -> float:
    """Fraction of images with IoU_k strictly above ``percent``/100 (§B.5)."""
    m = _full_matrix(all_ious)
    return float((m[:, k - 1] > percent / 100).mean())


def share_table(all_ious: Sequence[Sequence[float]]) -> dict[str, dict[str, float]]:
    """share_above for x = 90..99 and k in (1, 5, 10, 20) that the run covers; keys are strings for JSON."""
    n = len(all_ious[0]) if all_ious else 0
    return {str(k): {str(x): share_above(all_ious, x, k) for x in SHARE_LEVELS}
            for k in SHARE_CLICKS if k <= n}


def chosen_region(gt: np.ndarray, prev_pred: np.ndarray, click: Click) -> np.ndarray:
    """R_k: the 8-connected component of the clicked error mask that contains the click (§B.5).

    FN for a positive click, FP for a negative one; ignore pixels never belong. Empty when the
    click is not on an error pixel (the "no error left" clicks).
    """
    y, x, positive = click
    fn, fp = error_masks(gt, np.asarray(prev_pred, bool))
    mask = fn if positive else fp
    if not (0 <= y < mask.shape[0] and 0 <= x < mask.shape[1]) or not mask[y, x]:
        return np.zeros_like(mask)
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3), bool))
    return labels == labels[y, x]


def corrective_accuracy(gt: np.ndarray, region: np.ndarray, pred: np.ndarray) -> float:
    """Share of R_k now predicted right; NaN for an empty region (excluded from means)."""
    n = int(region.sum())
    if n == 0:
        return float("nan")
    gt = np.asarray(gt)
    correct = np.asarray(pred, bool) == (gt == 1)
    return float(correct[region].sum()) / n


def nanmean_per_click(rows: Sequence[Sequence[float]]) -> list[float | None]:
    """Column means ignoring NaN; ``None`` where a click has no defined value (JSON-safe)."""
    m = _full_matrix(rows)
    out: list[float | None] = []
    for col in m.T:
        ok = col[~np.isnan(col)]
        out.append(float(ok.mean()) if len(ok) else None)
    return out
