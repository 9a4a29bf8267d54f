"""Images with binary object masks for interactive segmentation training (thesis Ch. 3.2.2, 3.4).

Used by ``training fit iseg`` and by Task 1 of interactive matting (Ch. 5.2.2). Reads ``seg``
shards (``datagen synth-seg``) or ``benchmark`` shards with a ``mask`` (SBD, COCO imports)
through ``datagen.shards`` only. One sample: a random square window as large as the image's
shorter side (only its tiles are read), resized to ``out_size`` (the thesis crops 352 x 352),
mirrored with ``mirror_p``, then the thesis's gamma and brightness change (Ch. 3.4: "horizontal
flipping, gamma augmentations, and brightness augmentations"), applied as one lookup table
(:func:`training.data.layers.tone_table`). Every choice is drawn from (seed, epoch, index), so
the stream is the same for any worker count. ``valid`` is 0 on a benchmark's ``ignore`` band
(not scored, so not learned either) and 1 elsewhere; a resized pixel touching the band is
ignored too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset

from datagen.shards import DatasetError, open_dataset
from training.data.layers import resize_colour
from training.data.sampling import sample_rng
from training.data.windows import placed_window, resize_square, window_slices

SEG_STREAM = 7
"""Sub-stream id of these draws, apart from the matting data's streams of the same index."""
KINDS = ("seg", "benchmark")
MASK_LEVEL = 128
"""A resized mask (0/255) is the object where at least half of the pixel's area was."""


@dataclass(frozen=True)
class SegDataConfig:
    """Crop size and augmentation of segmentation samples (the ``[data]`` table of an iseg run,
    ``[seg]`` of an interactive matting run). Gamma is drawn log-uniformly (0.75 and 1.33 are
    equally far from 1), brightness uniformly; the ranges are the FBA recipe's, since Ch. 3.4
    names the augmentations but not their strength."""

    out_size: int = 352
    mirror_p: float = 0.5
    gamma: tuple[float, float] = (0.75, 1.33)
    brightness: tuple[float, float] = (0.8, 1.2)

    def __post_init__(self) -> None:
        if self.out_size < 8 or self.out_size % 8:
            raise ValueError(f"out_size must be a positive multiple of 8 (the network's stride), got {self.out_size}")
        if not 0.0 <= self.mirror_p <= 1.0:
            raise ValueError(f"mirror_p must be in [0, 1], got {self.mirror_p}")
        for name in ("gamma", "brightness"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"{name} must be [min, max] with 0 < min <= max, got {list(getattr(self, name))}")


@dataclass(frozen=True)
class SegDraws:
    """One sample's random choices: window position (fractions of the free range), mirror,
    gamma and brightness."""

    fy: float
    fx: float
    mirror: bool
    gamma: float
    brightness: float


def draw_seg(rng: np.random.Generator, config: SegDataConfig) -> SegDraws:
    """Every draw is made in a fixed order whatever the data, so each choice has a fixed place
    in the stream."""
    fy, fx = float(rng.random()), float(rng.random())
    mirror = bool(rng.random() < config.mirror_p)
    gamma = float(np.exp(rng.uniform(np.log(config.gamma[0]), np.log(config.gamma[1]))))
    return SegDraws(fy, fx, mirror, gamma, float(rng.uniform(*config.brightness)))


class SegData(TorchDataset):
    """``data[i]``: ``image`` 3xSxS float32 [0, 1], ``mask`` and ``valid`` 1xSxS float32 {0, 1},
    ``index``; ``S`` = ``config.out_size``."""

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
        self.fields = ("image", "mask", "ignore") if "ignore" in self.source.fields else ("image", "mask")

    def __len__(self) -> int:
        return len(self.source)

    def sample_bytes(self) -> int:
        """Bytes of one sample's float32 tensors (image, mask, valid: 5 channels at the output size)."""
        return 5 * 4 * self.config.out_size ** 2

    def sources(self) -> dict:
        """The shard dataset read, by role (what a resumed run must find unchanged)."""
        return {"segmentation data": self.source}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(f"sample index {index} out of range for {len(self)} samples")
        d = draw_seg(sample_rng(self.seed, self.epoch, index, SEG_STREAM), self.config)
        shape = self.source.shape(index, "mask")
        window = placed_window(shape, min(shape), d.fy, d.fx)
        sample = self.source.read(index, fields=self.fields, crop=window_slices(window))
        size = self.config.out_size
        image = resize_colour(sample["image"], size, d.gamma, d.brightness)
        mask = resize_square(sample["mask"].astype(np.uint8) * np.uint8(255), size) >= MASK_LEVEL
        if "ignore" in sample:
            valid = resize_square(sample["ignore"].astype(np.uint8) * np.uint8(255), size) == 0
        else:
            valid = np.ones_like(mask)
        if d.mirror:
            image, mask, valid = image[:, :, ::-1], mask[:, ::-1], valid[:, ::-1]
        plane = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None]  # noqa: E731
        return {"image": torch.from_numpy(np.ascontiguousarray(image)), "mask": plane(mask), "valid": plane(valid),
                "index": index}
