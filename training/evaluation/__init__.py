"""Evaluation: matting and interactive-segmentation metrics, click robots, protocols, reports.

Definitions follow ``shared/spec/metrics.md``; this package's public API is stable. The model
contracts are in ``contracts``, the per-sample loops in ``sample_loops``, benchmark runs in ``fanout``.
"""

from training.clicks.robots import next_click_largest_region, next_click_matting, next_click_ritm
from training.evaluation.metrics import (
    connectivity_error,
    foreground_errors,
    gradient_error,
    iou,
    mask_by_trimap,
    matting_errors,
    mse,
    sad,
    whole_image_errors,
)
from training.evaluation.noc import auc, corrective_accuracy, miou_per_click, noc, share_above

__all__ = [
    "auc",
    "connectivity_error",
    "corrective_accuracy",
    "foreground_errors",
    "gradient_error",
    "iou",
    "mask_by_trimap",
    "matting_errors",
    "miou_per_click",
    "mse",
    "next_click_largest_region",
    "next_click_matting",
    "next_click_ritm",
    "noc",
    "sad",
    "share_above",
    "whole_image_errors",
]
