"""Real images with binary object masks for Task 1 of interactive matting training (thesis Ch. 5.2.2).

Reads ``seg`` shards (``datagen synth-seg``) or ``benchmark`` shards with a ``mask`` (SBD, COCO
imports) through ``datagen.shards`` only. One sample: the image scaled so its shorter side is
``out_size``, a random ``out_size`` square window, mirrored with ``mirror_p``; every choice drawn
from (seed, epoch, index), so the stream is the same for any worker count. ``valid`` is 0 on a
benchmark's ``ignore`` band (not scored, so not learned either) and 1 elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from datagen.shards import DatasetError, open_dataset

SEG_STREAM = 7
"""Sub-stream id of these draws, apart from the matting data's streams of the same index."""
KINDS = ("seg", "benchmark")


@dataclass(frozen=True)
class SegDataConfig:
    """The ``[seg]`` table of an interactive matting run."""

    out_size: int = 320
    mirror_p: float = 0.5

    def __post_init__(self) -> None:
        if self.out_size < 8 or self.out_size % 8:
            raise ValueError(f"seg.out_size must be a positive multiple of 8 (the network's stride), got {self.out_size}")
        if not 0.0 <= self.mirror_p <= 1.0:
            raise ValueError(f"seg.mirror_p must be in [0, 1], got {self.mirror_p}")


class SegImages(TorchDataset):
    """``data[i]``: ``image`` 3xSxS float32 [0, 1], ``mask`` and ``valid`` 1xSxS {0, 1}, ``index``."""

    def __init__(self, config: SegDataConfig, path: str | os.PathLike, seed: int = 0) -> None:
        try:
            self.source = open_dataset(path)
        except DatasetError as error:
            raise DatasetError(f"segmentation data: {error}") from None
        if self.source.kind not in KINDS or "mask" not in self.source.fields:
            raise DatasetError(f"segmentation data {self.source.path}: a 'seg' dataset or a 'benchmark' with masks "
                               f"is needed, this one is {self.source.kind!r} with {', '.join(self.source.fields)}")
        if len(self.source) == 0:
            raise DatasetError(f"segmentation data {self.source.path}: the dataset is empty")
        self.config = config
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.source)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(f"sample index {index} out of range for {len(self)} samples")
        fields = ("image", "mask", "ignore") if "ignore" in self.source.fields else ("image", "mask")
        sample = self.source.read(index, fields=fields)
        image = sample["image"]
        if image.dtype == np.uint16:
            image = (image >> 8).astype(np.uint8)
        mask = sample["mask"].astype(np.uint8)
        valid = 1 - sample["ignore"].astype(np.uint8) if "ignore" in sample else np.ones_like(mask)
        rng = np.random.default_rng([self.seed, self.epoch, index, SEG_STREAM])
        size = self.config.out_size
        h, w = mask.shape
        scale = size / min(h, w)
        sw, sh = max(size, round(w * scale)), max(size, round(h * scale))
        image = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        mask, valid = (cv2.resize(m, (sw, sh), interpolation=cv2.INTER_NEAREST) for m in (mask, valid))
        y, x = int(rng.integers(sh - size + 1)), int(rng.integers(sw - size + 1))
        window = (slice(y, y + size), slice(x, x + size))
        image, mask, valid = image[window], mask[window], valid[window]
        if rng.random() < self.config.mirror_p:
            image, mask, valid = image[:, ::-1], mask[:, ::-1], valid[:, ::-1]
        tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
        return {"image": tensor(image.transpose(2, 0, 1)) / 255.0, "mask": tensor(mask)[None],
                "valid": tensor(valid)[None], "index": index}
