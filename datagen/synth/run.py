"""Running a synthetic set: sample ``i`` = ``render(plan(i))``, written through the shard store.

``SynthJob`` is the picklable ``make_sample`` handed to ``write_dataset``; it carries bank
*paths* and opens them once per process. The bank paths and their manifest fingerprints
go into the output's provenance, which is how ``regenerate`` finds the banks again and
refuses banks that have changed since.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from datagen.runner import Execution
from datagen.synth.recipe import Banks, SynthParams, plan
from datagen.synth.render import render
from datagen.synth.storage import DEFAULT_CODECS

KIND_DESC = {"seg": "synth-seg", "matting": "synth-matting"}


@dataclass(frozen=True)
class SynthJob:
    kind: str
    objects: str
    backgrounds: str
    seed: int
    params: SynthParams

    def __call__(self, index: int) -> dict:
        banks = open_banks(self.objects, self.backgrounds)
        return render(plan(self.kind, self.params, self.seed, index, banks), banks)


@lru_cache(maxsize=8)
def open_banks(objects: str, backgrounds: str) -> Banks:
    """Open (once per process) and check the object and background banks."""
    from datagen.shards import open_dataset

    banks = Banks(open_dataset(objects), open_dataset(backgrounds))
    for name, ds, kind in (("objects", banks.objects, "objects"), ("backgrounds", banks.backgrounds, "backgrounds")):
        if ds.kind != kind:
            raise ValueError(f"{ds.path}: --{name} must be a dataset of kind {kind!r}, this one is {ds.kind!r}")
        if len(ds) == 0:
            raise ValueError(f"{ds.path}: the {name} bank is empty")
    return banks


def run_synth(
    kind: str,
    objects: str | os.PathLike,
    backgrounds: str | os.PathLike,
    out: str | os.PathLike,
    n: int,
    seed: int = 0,
    params: SynthParams = SynthParams(),
    execution: Execution = Execution(),
    shard_size: int = 64,
    command: str | None = None,
    codec: str | None = None,
):
    """Write ``n`` samples of ``kind`` ("seg" or "matting"); returns the ``WriteResult``.

    ``codec`` is the shard codec spec (`datagen.shards.layout.parse_codec_spec`); by default
    photographic fields raw and label fields zstd:1 (`datagen.synth.storage`)."""
    from datagen.shards.build import write_dataset

    if n < 1:
        raise ValueError(f"--n must be >= 1, got {n}")
    if not 0.0 <= params.extra_p <= 1.0:
        raise ValueError(f"the distractor/second-foreground probability must be in [0, 1], got {params.extra_p}")
    if params.size < 16:
        raise ValueError(f"--size must be >= 16, got {params.size}")
    objects, backgrounds = str(Path(objects).resolve()), str(Path(backgrounds).resolve())
    banks = open_banks(objects, backgrounds)
    if not banks.has_fg_full:
        warnings.warn(
            f"{objects} has no fg_full: objects are resampled from foregrounds that are valid only where "
            "alpha > 0, so colour may spill into edges (run `datagen refit-foregrounds` first)",
            stacklevel=2,
        )
    job = SynthJob(kind, objects, backgrounds, seed, params)
    provenance = {
        **({"command": command} if command else {}),
        "seed": seed,
        "params": {"n": n, **params.to_json(), "objects": objects, "backgrounds": backgrounds},
        "inputs": [
            {"path": objects, "fingerprint": banks.objects.manifest.get("fingerprint")},
            {"path": backgrounds, "fingerprint": banks.backgrounds.manifest.get("fingerprint")},
        ],
    }
    return write_dataset(
        out, kind, range(n), job, provenance=provenance, shard_size=shard_size,
        execution=execution, desc=KIND_DESC[kind],
        codec=codec or DEFAULT_CODECS[kind],
    )


def regenerate(dataset: str | os.PathLike, sample: str, objects: str | None = None, backgrounds: str | None = None):
    """Re-render stored sample ``sample`` (an id) of a synthetic dataset from its recipe.

    Returns ``(regenerated, stored)`` sample dicts. Banks default to the paths recorded in
    the dataset's provenance and must have the recorded fingerprints.
    """
    from datagen.shards import open_dataset

    ds = open_dataset(dataset)
    prov = ds.manifest.get("provenance", {})
    recorded = [entry.get("fingerprint") for entry in prov.get("inputs", [])] or [None, None]
    paths = [objects or prov["params"]["objects"], backgrounds or prov["params"]["backgrounds"]]
    banks = open_banks(*(str(Path(p).resolve()) for p in paths))
    for path, bank, expected in zip(paths, (banks.objects, banks.backgrounds), recorded, strict=True):
        if expected is not None and bank.manifest.get("fingerprint") != expected:
            raise ValueError(f"{path}: this bank differs from the one {dataset} was made from")
    stored = ds.get(sample)
    return render(stored["recipe"], banks), stored
