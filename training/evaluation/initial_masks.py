"""Initial masks for the mask-correction protocol (FocalClick's DAVIS-585 task).

A sample starts from a flawed mask instead of nothing; the model receives it as its previous
mask, the robot clicks on its errors, and NoC counts the clicks needed to fix it. The mask comes
either from a folder (``InitialMaskFolder``: one file per sample id, e.g. DAVIS-585's released
``init_sp_*`` masks renamed to the sample ids) or from :func:`corrupt_mask`.

**Corruption recipe** (after FocalClick's ``scripts/DAVIS585_datatset/superpixel_augmentation.py``,
which made DAVIS-585's ``init_sp`` masks; the parameters are theirs, the code is not):

1. Regions of the ground-truth object M: the boundary band ``dilate(M) ∧ ¬erode(M)`` (5 x 5
   square, 3 iterations each, OpenCV's border rules: the image edge never erodes), the inside
   ``M ∧ ¬band`` and the outside ``¬M ∧ ¬band``.
2. One attempt starts from M and applies up to ``max_defects`` (10) defects. A defect picks a
   region (band 0.65, inside 0.25, outside 0.10; a region under 5 pixels is replaced by M), a
   superpixel count from {50, 100, 200, 300, 500, 700} (uniform), a uniformly random pixel of
   the region, and flips the whole SLIC superpixel holding it: added to the mask if that pixel
   is off, removed if it is on.
3. After each defect, IoU(mask, M) in the target range [iou_min, iou_max] (default 0.75-0.85,
   DAVIS-585's) ends the recipe; below the range ends the attempt.
4. Up to ``max_attempts`` (30) attempts; if none lands in the range, the attempt whose IoU is
   nearest to it is returned (FocalClick returns its last one), and the IoU says so.

Differences from FocalClick, all for reproducibility: every random choice comes from
``numpy.random.default_rng(seed)`` (they use the global NumPy state); superpixels are
scikit-image's ``slic`` (compactness 10, on CIELAB, as their ``fast_slic`` call) computed once per
count and image instead of once per defect; the seed of a sample is derived from the run seed and
the sample id (:func:`sample_seed`), so a mask does not depend on which worker made it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from datagen.imageio import ImageError, check_same_size, is_image_file, read_alpha

IOU_RANGE = (0.75, 0.85)
MAX_DEFECTS = 10
MAX_ATTEMPTS = 30
REGION_PROBS = (0.65, 0.25, 0.10)             # boundary band, inside, outside
SUPERPIXEL_COUNTS = (50, 100, 200, 300, 500, 700)
BAND_KERNEL, BAND_ITERATIONS = 5, 3
MIN_REGION = 5


def sample_seed(seed: int, sample_id: str) -> int:
    """A per-sample seed from the run seed and the id, stable across processes and Python versions."""
    digest = hashlib.sha256(f"{seed}:{sample_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return int((a & b).sum()) / union if union else 1.0


def _regions(mask: np.ndarray) -> list[np.ndarray]:
    kernel = np.ones((BAND_KERNEL, BAND_KERNEL), np.uint8)
    m = mask.astype(np.uint8)
    band = cv2.dilate(m, kernel, iterations=BAND_ITERATIONS).astype(bool) & ~cv2.erode(m, kernel, iterations=BAND_ITERATIONS).astype(bool)
    return [band, mask & ~band, ~mask & ~band]


def _distance_to_range(value: float, low: float, high: float) -> float:
    return max(low - value, value - high, 0.0)


def corrupt_mask(image: np.ndarray, mask: np.ndarray, seed: int,
                 iou_range: tuple[float, float] = IOU_RANGE) -> tuple[np.ndarray, float]:
    """The recipe of the module docstring: (HxW bool initial mask, its IoU with ``mask``)."""
    from skimage.segmentation import slic  # scikit-image: only the corrupting runs need it

    gt = np.asarray(mask, dtype=bool)
    if not gt.any():
        raise ValueError("corrupt_mask: the ground-truth mask is empty")
    if gt.shape != np.asarray(image).shape[:2]:
        raise ValueError(f"corrupt_mask: mask shape {gt.shape} != image shape {np.asarray(image).shape[:2]}")
    low, high = iou_range
    rng = np.random.default_rng(seed)
    regions = [r if r.sum() >= MIN_REGION else gt for r in _regions(gt)]
    superpixels: dict[int, np.ndarray] = {}
    best, best_iou = gt, 1.0
    for _ in range(MAX_ATTEMPTS):
        current = gt.copy()
        for _ in range(MAX_DEFECTS):
            region = regions[rng.choice(3, p=REGION_PROBS)]
            count = int(rng.choice(SUPERPIXEL_COUNTS))
            if count not in superpixels:
                superpixels[count] = slic(image, n_segments=count, compactness=10, start_label=0)
            ys, xs = np.nonzero(region)
            k = rng.integers(len(ys))
            y, x = ys[k], xs[k]
            patch = superpixels[count] == superpixels[count][y, x]
            current = current & ~patch if current[y, x] else current | patch
            value = _mask_iou(current, gt)
            if _distance_to_range(value, low, high) < _distance_to_range(best_iou, low, high):
                best, best_iou = current, value
            if low <= value <= high:
                return current, value
            if value < low:
                break
    return best, best_iou


class InitialMaskFolder:
    """Initial masks read from a folder, one image file per sample id (``<id>.png``, any image type).

    A pixel is object where the 8-bit value is above 128 (FocalClick's DAVIS-585 loader reads
    ``[:, :, 0] > 128``; 16-bit files are compared at the same level, 128 x 257). The folder is
    listed once; two files of one id (``a.png``, ``a.jpg``) are an error rather than a guess.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ValueError(f"--initial-masks {self.folder}: no such folder")
        self._files: dict[str, Path] = {}
        self._duplicates: dict[str, list[str]] = {}
        for path in sorted(self.folder.iterdir()):
            if path.is_file() and is_image_file(path):
                if path.stem in self._files:
                    self._duplicates.setdefault(path.stem, [self._files[path.stem].name]).append(path.name)
                self._files[path.stem] = path

    def path(self, sample_id: str) -> Path:
        if sample_id in self._duplicates:
            raise ValueError(f"{self.folder}: {len(self._duplicates[sample_id])} initial masks for sample "
                             f"{sample_id!r} ({', '.join(self._duplicates[sample_id])}); keep one")
        if sample_id not in self._files:
            raise ValueError(f"{self.folder}: no initial mask for sample {sample_id!r} (expected {sample_id}.png)")
        return self._files[sample_id]

    def read(self, sample_id: str, shape: tuple[int, ...]) -> np.ndarray:
        """The HxW bool initial mask of ``sample_id``, checked against the image ``shape``."""
        path = self.path(sample_id)
        values = read_alpha(path)
        check_same_size(path, "initial mask", values, "the image", shape)
        if values.dtype not in (np.uint8, np.uint16):
            raise ImageError(path, f"expected an 8- or 16-bit mask, got {values.dtype}")
        return values > (128 if values.dtype == np.uint8 else 128 * 257)
