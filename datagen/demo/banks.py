"""Write the demo object and background banks to the shard store.

Sample i of a bank is made from a seed derived from (global seed, i) alone, so the banks are
byte-identical whatever the worker count or scheduler, and any sample can be regenerated from
its recipe (`make_object(recipe["seed"], recipe["size"], recipe["kind"])`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial

import numpy as np

from datagen.runner import Execution
from datagen.shards.build import WriteResult, write_dataset

from .backgrounds import PHOTOS, make_background, make_photo_background
from .objects import OBJECT_KINDS, make_object

GENERATOR_VERSION = 1  # bump when the generators' output changes, so old banks are not resumed


def sample_seed(seed: int, index: int) -> int:
    """The seed of sample `index` under global `seed` (independent streams per sample)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0])


def object_sample(index: int, *, seed: int, size: tuple[int, int]) -> dict:
    """Sample `index` of the object bank; kinds cycle, so a bank of >= len(OBJECT_KINDS) holds them all."""
    kind = OBJECT_KINDS[index % len(OBJECT_KINDS)]
    s = sample_seed(seed, index)
    obj = make_object(s, size, kind=kind)
    recipe = {"generator": "datagen.demo.objects", "version": GENERATOR_VERSION, "seed": s,
              "size": list(size), "kind": kind}
    return {"id": f"demo_obj_{index:04d}", "fg": obj.fg, "alpha": obj.alpha, "recipe": recipe}


PHOTO_EVERY = 4  # with photos on, every 4th background is a crop of a bundled photograph


def background_sample(index: int, *, seed: int, size: tuple[int, int], photos: bool = True) -> dict:
    """Sample `index` of the background bank: procedural, or (with `photos`) every
    `PHOTO_EVERY`-th one a crop of a bundled photograph, cycling through `PHOTOS`."""
    s = sample_seed(seed, index)
    recipe = {"generator": "datagen.demo.backgrounds", "version": GENERATOR_VERSION, "seed": s, "size": list(size)}
    if photos and index % PHOTO_EVERY == PHOTO_EVERY - 1:
        photo = PHOTOS[(index // PHOTO_EVERY) % len(PHOTOS)]
        recipe["photo"] = photo
        image = make_photo_background(s, size, photo)
    else:
        image = make_background(s, size)
    return {"id": f"demo_bg_{index:04d}", "image": image, "recipe": recipe}


def build_object_bank(out: str | os.PathLike, n: int = 24, size: tuple[int, int] = (320, 320), seed: int = 0,
                      execution: Execution = Execution(), command: str | None = None) -> WriteResult:
    """Write `n` demo objects (`fg`, `alpha`, ids `demo_obj_0000`...) as an `objects` dataset."""
    return _build(out, "objects", n, partial(object_sample, seed=seed, size=(size[0], size[1])), size, seed,
                  execution, command, "demo objects")


def build_background_bank(out: str | os.PathLike, n: int = 24, size: tuple[int, int] = (480, 640), seed: int = 0,
                          execution: Execution = Execution(), command: str | None = None,
                          photos: bool = True) -> WriteResult:
    """Write `n` backgrounds (`image`, ids `demo_bg_0000`...) as a `backgrounds` dataset:
    procedural scenes, with every 4th a bundled-photo crop unless `photos` is False."""
    return _build(out, "backgrounds", n, partial(background_sample, seed=seed, size=(size[0], size[1]), photos=photos),
                  size, seed, execution, command, "demo backgrounds", {"photos": photos})


def _build(out: str | os.PathLike, kind: str, n: int, make_sample: Callable[[int], dict], size: tuple[int, int],
           seed: int, execution: Execution, command: str | None, desc: str, params: dict | None = None) -> WriteResult:
    if n < 0:
        raise ValueError(f"the number of samples must be >= 0, got {n}")
    provenance = {"seed": seed, "inputs": [],
                  "params": {"generator_version": GENERATOR_VERSION, "n": n, "size": list(size), **(params or {})}}
    if command is not None:
        provenance["command"] = command
    return write_dataset(out, kind, list(range(n)), make_sample, provenance=provenance, shard_size=16,
                         execution=execution, desc=desc)
