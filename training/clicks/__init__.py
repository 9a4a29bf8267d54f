"""Clicks: the one type every layer shares, and the checks on it.

A click is ``(y, x, is_positive)`` in pixel coordinates of the image it was placed on. Data
(click trimaps), models (click maps), loops (the robots during training), inference, drawing
and the evaluation all speak this type, so it lives below all of them; the package imports
nothing from the rest of ``training``. Its modules: :mod:`~training.clicks.robots` (the
automatic clickers of the protocols), :mod:`~training.clicks.paint` (clicks as disks or
pixels, scribbles as a sparse trimap), :mod:`~training.clicks.files` (clicks JSON and
scribble images as a user gives them).
"""

from __future__ import annotations

from collections.abc import Sequence

Click = tuple[int, int, bool]
NO_ERROR: Click = (-1, -1, False)
"""What a robot returns when the prediction has no error left; the loops map it explicitly."""
MASK_THRESHOLD = 0.5
"""``probability >= 0.5`` is the mask a robot (protocol L) and a user see: the rule the thesis
network trains with, its predictor's mask and protocol L's evaluation rule."""


def check_clicks(clicks: Sequence[Click], shape: tuple[int, int]) -> None:
    """A ValueError naming the first click outside an image of ``shape`` (H, W), if any."""
    h, w = shape
    for y, x, _ in clicks:
        if not (0 <= y < h and 0 <= x < w):
            raise ValueError(f"click ({y}, {x}) lies outside the {w}x{h} image")


def clicks_json(clicks: Sequence[Click]) -> list[list]:
    """Clicks as the JSON lists reports write and ``training predict --clicks`` reads."""
    return [[int(y), int(x), bool(p)] for y, x, p in clicks]
