"""Stand-ins the evaluation tests share: a click oracle whose NoC is known, and a box sample."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


class BlobOracle:
    """Reveals the ground-truth parts (8-connected) touched by a positive click, so NoC = number of
    parts; keeps what it was given (image shape, previous mask, clicks) in ``calls``."""

    def __init__(self, gt):
        self.labels, _ = ndimage.label(gt == 1, structure=np.ones((3, 3)))
        self.calls: list[tuple[tuple[int, ...], np.ndarray, list]] = []

    def predict_iseg(self, image, clicks, prev_mask):
        self.calls.append((image.shape, np.array(prev_mask), list(clicks)))
        keep = {self.labels[y, x] for y, x, pos in clicks if pos} - {0}
        return np.isin(self.labels, list(keep)).astype(np.float32)


def box_sample(i: int, ignore: bool = False) -> dict:
    """Two flat colours, a box whose place depends on ``i`` (so records differ per sample);
    with ``ignore``, an all-zero ignore mask too."""
    image = np.zeros((40, 48, 3), np.uint8)
    image[...] = (30, 60, 200)
    mask = np.zeros((40, 48), np.uint8)
    mask[5 + i:25 + i, 8 + 2 * i:30 + 2 * i] = 1
    image[mask == 1] = (220, 40, 20)
    sample = {"id": f"b{i}", "image": image, "mask": mask}
    return {**sample, "ignore": np.zeros_like(mask)} if ignore else sample
