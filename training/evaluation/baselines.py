"""Classic, training-free models behind the evaluation interface, so the harness gives real numbers today.

* ``grabcut``: OpenCV GrabCut (GMM colour models + graph cut) seeded from clicks.
* ``random_walker``: random walker seeded from clicks (scikit-image's graph and solver, one solve).
* ``closed_form`` / ``knn``: pymatting trimap matting.
* ``scribble_cf``: interactive matting as clicks -> scribble trimap -> closed-form matting.

All of them are deterministic functions of (image, clicks or trimap): they ignore the previous
prediction (``uses_previous_mask = False``, which mask-correction reports quote), so a result
never depends on evaluation order. Interactive baselines work at a
reduced resolution (``max_side``) and upsample their output, because the click-by-click
protocol solves 20 problems per image; the choice is recorded in every report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from datagen.compose.convert import to_uint8, to_unit_float
from training.clicks import Click
from training.clicks.paint import paint_disks


def _working_scale(shape: tuple[int, ...], max_side: int) -> float:
    return min(1.0, max_side / max(shape[:2]))


def _resize(img: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return img
    h, w = img.shape[:2]
    return cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _upsample(prob: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if prob.shape == shape[:2]:
        return prob
    return cv2.resize(prob.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def _click_seeds(image: np.ndarray, clicks: Sequence[Click], max_side: int, radius: int):
    """The working-size 8-bit RGB image and its seed labels (1 = positive click, 2 = negative
    click or the image border), or None when there is no positive click yet."""
    scale = _working_scale(image.shape, max_side)
    small = _resize(to_uint8(image), scale)
    seeds: np.ndarray = np.zeros(small.shape[:2], np.uint8)
    shape = (seeds.shape[0], seeds.shape[1])
    seeds[_frame(shape)] = 2
    paint_disks(shape, clicks, scale, radius, 1, 2, seeds)
    return (small, seeds) if (seeds == 1).any() else None


def _frame(shape: tuple[int, int]) -> np.ndarray:
    """One-pixel image border: the background prior of the click-only baselines."""
    f = np.zeros(shape, bool)
    f[0, :] = f[-1, :] = f[:, 0] = f[:, -1] = True
    return f


@dataclass(frozen=True)
class ClickSeeded:
    """The click baselines' common frame: clicks painted as disks of ``radius`` px on the image
    scaled to ``max_side``, all background before the first positive click, else ``solve`` on
    the working-size image and its seeds (1 positive, 2 negative or border), upsampled back."""

    max_side: int = 320
    radius: int = 3
    uses_previous_mask: ClassVar[bool] = False

    def predict_iseg(self, image: np.ndarray, clicks: Sequence[Click], prev_mask: np.ndarray) -> np.ndarray:
        working = _click_seeds(image, clicks, self.max_side, self.radius)
        if working is None:
            return np.zeros(image.shape[:2], np.float32)
        return _upsample(self.solve(*working), image.shape)

    def solve(self, rgb: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True)
class RandomWalkerSeg(ClickSeeded):
    """Random walker (Grady 2006) with click disks as seeds. The one-pixel image border is a
    background seed (clicks paint over it): with positive clicks alone the problem is trivial,
    and dropping the border at the first negative click made results jump. Objects that touch
    the border pay for it; see docs/evaluation.md."""

    beta: float = 1000.0
    name: str = "random_walker"

    def solve(self, rgb: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        from training.evaluation.random_walker import random_walker_probability

        return np.clip(random_walker_probability(rgb.astype(np.float64) / 255.0, seeds, self.beta), 0.0, 1.0)


@dataclass(frozen=True)
class GrabCutSeg(ClickSeeded):
    """GrabCut with click disks as hard seeds. GrabCut has no "unknown" label, so the other
    pixels start from a click Voronoi prior: probably foreground where a positive click is
    nearer than any negative click or the image border, probably background elsewhere. The colour models and the cut are then
    re-estimated ``iterations`` times."""

    iterations: int = 5
    name: str = "grabcut"

    def solve(self, rgb: np.ndarray, seeds: np.ndarray) -> np.ndarray:
        from scipy import ndimage

        small, shape = np.ascontiguousarray(rgb[:, :, ::-1]), seeds.shape
        nearer_pos = ndimage.distance_transform_edt(seeds != 1) < ndimage.distance_transform_edt(seeds != 2)
        mask = np.where(nearer_pos, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
        mask[seeds == 1] = cv2.GC_FGD
        mask[(seeds == 2) & ~_frame(shape)] = cv2.GC_BGD
        bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
        cv2.setRNGSeed(0)  # GrabCut's k-means draws from OpenCV's global RNG
        try:
            cv2.grabCut(small, mask, None, bgd, fgd, self.iterations, cv2.GC_INIT_WITH_MASK)  # type: ignore[call-overload]  # rect None: the stubs want a Sequence
        except cv2.error:
            pass  # a colour model without samples: keep the prior
        return ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.float32)


@dataclass(frozen=True)
class PymattingTrimap:
    """Trimap matting with pymatting (``closed_form`` = Levin et al. 2008, ``knn`` = Chen et al. 2013)."""

    method: str = "closed_form"

    @property
    def name(self) -> str:
        return self.method

    def predict_matting(self, image: np.ndarray, trimap: np.ndarray) -> np.ndarray:
        import pymatting

        estimate = {"closed_form": pymatting.estimate_alpha_cf, "knn": pymatting.estimate_alpha_knn}[self.method]
        t = trimap.astype(np.float64) / 255.0
        if not ((t > 0) & (t < 1)).any():     # nothing unknown: the trimap is the answer
            return t
        return np.clip(estimate(to_unit_float(image), t), 0.0, 1.0)


@dataclass(frozen=True)
class ScribbleClosedForm:
    """Interactive matting baseline: clicks become scribble disks of a trimap (everything else
    unknown; the one-pixel image border background), then closed-form matting."""

    max_side: int = 200
    radius: int = 3
    name: str = "scribble_cf"
    uses_previous_mask: ClassVar[bool] = False

    def scribble_trimap(self, shape: tuple[int, int], clicks: Sequence[Click], scale: float) -> np.ndarray:
        trimap = np.full(shape, 128, np.uint8)
        trimap[_frame(shape)] = 0
        return paint_disks(shape, clicks, scale, self.radius, 255, 0, trimap)

    def predict_imatting(self, image: np.ndarray, clicks: Sequence[Click], prev_alpha: np.ndarray) -> np.ndarray:
        import pymatting

        scale = _working_scale(image.shape, self.max_side)
        small = _resize(to_unit_float(image), scale)
        trimap = self.scribble_trimap(small.shape[:2], clicks, scale)
        if not (trimap == 255).any():
            return np.zeros(image.shape[:2], np.float32)
        alpha = pymatting.estimate_alpha_cf(small, trimap.astype(np.float64) / 255.0)
        return np.clip(_upsample(alpha, image.shape), 0.0, 1.0)


BASELINES: dict[str, Callable[[], object]] = {
    "grabcut": GrabCutSeg,
    "random_walker": RandomWalkerSeg,
    "closed_form": lambda: PymattingTrimap("closed_form"),
    "knn": lambda: PymattingTrimap("knn"),
    "scribble_cf": ScribbleClosedForm,
}


def make_baseline(name: str):
    """Instantiate a baseline by name; unknown names list the known ones."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")
    return BASELINES[name]()
