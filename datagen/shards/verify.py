"""Checking a dataset end to end: every file's checksum and every sample's decode.

`verify_dataset` returns a list of problems, each naming the shard and, where it can, the
sample; an empty list means the dataset is exactly what its manifest says.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py

from datagen.shards.layout import MANIFEST, array_digest, sample_key
from datagen.shards.reader import DatasetError, load_manifest
from datagen.shards.writer import file_digest


def verify_dataset(path: str | os.PathLike, decode: bool = True) -> list[str]:
    """Problems found in the dataset at `path` (checksums, counts, decode of every sample)."""
    path = Path(path)
    try:
        manifest = load_manifest(path)
    except DatasetError as error:
        return [str(error)]
    problems: list[str] = []
    listed = {shard["file"] for shard in manifest["shards"]}
    for extra in sorted(p.name for p in path.glob("shard-*.h5") if p.name not in listed):
        problems.append(f"{extra}: shard file not listed in {MANIFEST}")
    total = 0
    for shard in manifest["shards"]:
        total += shard["num_samples"]
        problems.extend(_verify_shard(path / shard["file"], shard, manifest, decode))
    if total != manifest["num_samples"]:
        problems.append(f"{MANIFEST}: shards hold {total} samples but num_samples says {manifest['num_samples']}")
    return problems


def _verify_shard(file: Path, shard: dict, manifest: dict, decode: bool) -> list[str]:
    name = file.name
    if not file.exists():
        return [f"{name}: missing shard file ({shard['num_samples']} samples lost)"]
    digest, size = file_digest(file)
    problems = []
    if size != shard["bytes"]:
        problems.append(f"{name}: size {size} bytes, manifest says {shard['bytes']} (truncated or appended to)")
    if digest != shard["sha256"]:
        problems.append(f"{name}: sha256 mismatch (file changed or corrupt)")
    if not decode:
        return problems
    try:
        handle = h5py.File(file, "r")
    except OSError as error:
        return problems + [f"{name}: cannot be opened as HDF5 ({error})"]
    with handle:
        try:
            ids = [value.decode("utf-8") for value in handle["ids"][()]]
        except Exception as error:  # any failure to read the id list is corruption
            return problems + [f"{name}: id list unreadable ({error})"]
        if len(ids) != shard["num_samples"]:
            problems.append(f"{name}: holds {len(ids)} samples, manifest says {shard['num_samples']}")
        fields = manifest["fields"]
        for local, sample_id in enumerate(ids):
            problems.extend(_verify_sample(handle, local, sample_id, fields, name))
    return problems


def _verify_sample(handle: h5py.File, local: int, sample_id: str, fields: list[dict], name: str) -> list[str]:
    where = f"{name} sample {local} (id {sample_id!r})"
    try:
        group = handle[sample_key(local)]
    except Exception as error:
        return [f"{where}: missing ({error})"]
    problems = []
    for spec in fields:
        field = spec["name"]
        try:
            if spec["channels"] == 0:
                if field in group.attrs:
                    json.loads(group.attrs[field])
            elif field in group:
                dataset = group[field]
                if array_digest(dataset[()]) != dataset.attrs["sha256"].decode():
                    problems.append(f"{where}: field {field!r} does not decode to the pixels written (checksum mismatch)")
        except Exception as error:  # decode errors surface as assorted h5py/filter exceptions
            problems.append(f"{where}: field {field!r} does not decode ({type(error).__name__}: {error})")
    return problems
