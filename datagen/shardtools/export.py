"""Writing samples out as ordinary files, for looking at them or feeding other tools.

Sample ids often come from file names in third-party datasets (spaces, `../`, unicode), so
every output name is made safe and checked to stay inside the output folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from datagen.files import write_atomic
from datagen.imageio import write_png
from datagen.shards.reader import Dataset

# Binary label maps are stored as {0,1}; they are written as {0,255} so they can be seen.
_BINARY_FIELDS = {"mask", "ignore"}


def safe_stem(sample_id: str) -> str:
    """A file-name stem for an id: letters, digits, `-`, `_`, `.` kept; anything else becomes `_`.

    When the id had to change, a short hash of the original is appended so two different ids
    never map to the same file.
    """
    text = unicodedata.normalize("NFC", sample_id)
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text).lstrip(".")
    cleaned = cleaned[:150] or "_"
    if cleaned != sample_id:
        cleaned += "-" + hashlib.sha1(sample_id.encode("utf-8")).hexdigest()[:8]
    return cleaned


def official_stem(dataset: Dataset, index: int) -> str:
    """The stem of the official file name a build recorded in the sample's recipe (`name`: DIM's
    `retriever-348572_1920 (1)_0.png`), so an export can be diffed file by file with another copy."""
    name = dataset.read(index, fields=["recipe"]).get("recipe", {}).get("name") if "recipe" in dataset.fields else None
    if not name:
        raise ValueError(f"{dataset.ids[index]}: no official name recorded (DIM builds record one); use --names ids")
    if Path(name).name != name or Path(name).stem in ("", ".", ".."):
        raise ValueError(f"{dataset.ids[index]}: official name {name!r} is not a plain file name")
    return Path(name).stem


def export_samples(
    dataset: Dataset, out: str | os.PathLike, ids: Iterable[str] | None = None, fields: Iterable[str] | None = None,
    names: str = "ids",
) -> list[Path]:
    """Write `<stem>_<field>.png` (and `<stem>_recipe.json`) for the chosen samples; returns the paths.

    The stem is the sample id made safe (`names="ids"`) or the official name the build recorded
    (`names="official"`, see `official_stem`).
    """
    if names not in ("ids", "official"):
        raise ValueError(f"names must be ids or official, not {names!r}")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    wanted = list(fields) if fields is not None else dataset.fields
    unknown = [name for name in wanted if name not in dataset.fields]
    if unknown:
        raise ValueError(f"fields {unknown} are not in this dataset (it has {', '.join(dataset.fields)})")
    indices = range(len(dataset)) if ids is None else [dataset.index_of(sample_id) for sample_id in ids]
    written = []
    for index in indices:
        sample = dataset.read(index, fields=wanted)
        stem = safe_stem(sample["id"]) if names == "ids" else official_stem(dataset, index)
        for name in wanted:
            if name not in sample:
                continue
            value = sample[name]
            target = out / (f"{stem}_{name}.json" if isinstance(value, dict) else f"{stem}_{name}.png")
            if target.resolve().parent != out:
                raise ValueError(f"refusing to write outside {out}: {target}")
            if isinstance(value, dict):
                write_atomic(target, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())
            else:
                if name in _BINARY_FIELDS:
                    value = (value > 0).astype(np.uint8) * 255
                write_png(target, value)
            written.append(target)
    return written
