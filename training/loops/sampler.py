"""Which sample indices each rank reads at each step: a pure function of (seed, epoch, rank).

The global order of an epoch is a permutation drawn from ``(seed, epoch)`` alone, and step ``s``
of the run covers the same ``batch_size x world_size`` samples whatever the world size is split
into: rank ``r`` takes every ``world_size``-th unit of the permutation. So one process with
batch 2 sees the same samples per step as two processes with batch 1, a resumed run re-derives
exactly the batches it had left, and DataLoader workers only change who decodes them.

With ``paired`` the dataset holds each sample at an even index ``2k`` and its 2x-scaled version
at ``2k + 1`` (thesis Ch. 4.3.6: "every second mini-batch is sampled from the 2x image of the
previous image"): the permutation is over pairs, and each batch of even indices is followed by
the batch of their scaled partners.
"""

from __future__ import annotations

import numpy as np


def steps_per_epoch(n_samples: int, batch_size: int, world_size: int, paired: bool) -> int:
    """Optimiser steps in one epoch (incomplete batches are dropped so every rank steps together)."""
    units = n_samples // 2 if paired else n_samples
    full = units // (batch_size * world_size)
    return 2 * full if paired else full


def epoch_order(n_samples: int, seed: int, epoch: int, paired: bool) -> np.ndarray:
    """The epoch's permutation of units (samples, or pairs when ``paired``)."""
    units = n_samples // 2 if paired else n_samples
    return np.random.default_rng([seed, epoch]).permutation(units)


def rank_batches(n_samples: int, *, seed: int, epoch: int, batch_size: int, world_size: int, rank: int,
                 paired: bool, start: int = 0) -> list[list[int]]:
    """Batches of dataset indices for ``rank`` in ``epoch``, from step ``start`` of the epoch on."""
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} outside world size {world_size}")
    order = epoch_order(n_samples, seed, epoch, paired)
    n_steps = steps_per_epoch(n_samples, batch_size, world_size, paired)
    mine = order[rank::world_size]
    batches = []
    for step in range(start, n_steps):
        chunk = step // 2 if paired else step
        units = mine[chunk * batch_size:(chunk + 1) * batch_size]
        batches.append([int(2 * u + step % 2) if paired else int(u) for u in units])
    return batches


def loader_context(num_workers: int) -> dict:
    """DataLoader keyword for its worker start method: spawn, never fork.

    A worker forked after torch's or HDF5's threads have started can inherit a held lock and
    hang for ever (seen in the suite); spawned workers start clean and reopen the shards lazily.
    """
    return {"multiprocessing_context": "spawn"} if num_workers > 0 else {}
