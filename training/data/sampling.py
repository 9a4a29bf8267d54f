"""Every random choice of one training sample, drawn from (seed, epoch, unit) alone.

A *unit* is one composite; with the 2x rescale on, dataset indices ``2u`` and ``2u + 1`` are unit
``u`` at 1x and at 2x. Both indices draw the same :class:`Draws` (same stream, same order), so the
2x sample is the same composite seen closer; only its trimap radii come from a stream of their
own. Nothing depends on the process, the worker or the order of reads, which is what makes the
sample stream identical for any DataLoader worker count.

Choices that need the data (which unknown pixel to centre on, where in a background) are drawn
as fractions in [0, 1) and resolved against the data later, so that the draws never depend on
what was read and always consume the stream the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Sub-streams of one unit: the draws, and the trimap of the 1x and of the 2x sample.
DRAWS, TRIMAP_1X, TRIMAP_2X = 0, 1, 2


def sample_rng(seed: int, epoch: int, unit: int, stream: int = DRAWS) -> np.random.Generator:
    """The generator of one unit's sub-stream: a pure function of its four integers."""
    return np.random.default_rng([seed, epoch, unit, stream])


@dataclass(frozen=True)
class Layer:
    """Where and how one object is used: its crop side, the unknown pixel the crop is centred
    on (a fraction of the candidate list), flips and the colour change."""

    index: int
    crop: int
    centre: float
    mirror: bool  # left-right
    flip: bool  # up-down
    gamma: float
    brightness: float


@dataclass(frozen=True)
class Draws:
    """One unit's choices: the primary object layer, an optional second foreground under it, and
    the background (bank index, window position as fractions, colour change)."""

    primary: Layer
    second: Layer | None
    background: int
    bg_y: float
    bg_x: float
    bg_gamma: float
    bg_brightness: float


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    """Log-uniform in ``bounds``: gamma 0.75 and 1.33 are equally far from 1."""
    return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))


def _layer(rng: np.random.Generator, index: int, crop: int, cfg) -> Layer:
    return Layer(index=index, crop=crop, centre=float(rng.random()), mirror=bool(rng.random() < cfg.mirror_p),
                 flip=bool(rng.random() < cfg.flip_p), gamma=_log_uniform(rng, cfg.gamma),
                 brightness=float(rng.uniform(*cfg.brightness)))


def draw(rng: np.random.Generator, cfg, primary: int, n_objects: int, n_backgrounds: int) -> Draws:
    """Draw a unit's choices for ``primary`` (a bank index) under config ``cfg``
    (:class:`training.data.MattingDataConfig`). Every draw is made whatever the earlier ones
    were, so the stream position of each choice is fixed."""
    crop = int(cfg.crop_sizes[int(rng.integers(len(cfg.crop_sizes)))])
    first = _layer(rng, primary, crop, cfg)
    with_second = bool(rng.random() < cfg.second_fg_p) and n_objects > 1
    other = int(rng.integers(max(n_objects - 1, 1)))
    other += other >= primary  # uniform over the objects that are not the primary
    second = _layer(rng, other, crop, cfg)
    background = int(rng.integers(max(n_backgrounds, 1)))
    bg_y, bg_x = float(rng.random()), float(rng.random())
    bg_gamma, bg_brightness = _log_uniform(rng, cfg.gamma), float(rng.uniform(*cfg.brightness))
    return Draws(first, second if with_second else None, background, bg_y, bg_x, bg_gamma, bg_brightness)
