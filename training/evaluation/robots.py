"""The click robots under their evaluation name: they live in :mod:`training.clicks.robots`,
below the data, models and loops that use them during training; this keeps
``training.evaluation.robots`` a stable public name."""

from training.clicks import NO_ERROR, Click
from training.clicks.robots import (
    error_masks,
    next_click_largest_region,
    next_click_matting,
    next_click_ritm,
    padded_edt,
)

__all__ = ["NO_ERROR", "Click", "error_masks", "next_click_largest_region", "next_click_matting",
           "next_click_ritm", "padded_edt"]
