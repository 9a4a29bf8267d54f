"""Which bank object is the primary of sample ``i``: a pure function of (seed, i, bank size).

The samples walk through a shuffled list of all objects, then through a fresh shuffle, and
so on ("epochs" of the bank). Every object is therefore primary ``floor(n/m)`` or
``ceil(n/m)`` times in ``n`` samples over ``m`` objects, and ``n = m`` uses each exactly
once. Because the answer for sample ``i`` needs nothing but ``i``, any worker can compute it
for its own shard and the result does not depend on how the work was split.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def primary_object(seed: int, index: int, n_objects: int) -> int:
    """Bank index of the primary object of sample ``index``."""
    if n_objects < 1:
        raise ValueError("the object bank is empty")
    epoch, position = divmod(index, n_objects)
    return int(_shuffle(seed, epoch, n_objects)[position])


@lru_cache(maxsize=4)
def _shuffle(seed: int, epoch: int, n_objects: int) -> np.ndarray:
    # spawn_key keeps this stream apart from the per-sample streams SeedSequence([seed, index]).
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(epoch,)))
    return rng.permutation(n_objects)
