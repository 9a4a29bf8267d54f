"""Checking a dataset end to end: the manifest against itself, every file, every sample.

`verify_dataset` returns a list of problems, each naming the shard and, where it can, the
sample and field; an empty list means the dataset is exactly what its manifest says. It
catches every edit of the manifest: those that change what a reader returns (entries swapped,
counts changed, a file outside the folder: refused by `load_manifest` already; fields or
storage: `contents_sha256`) and those that do not (provenance or settings: the fingerprint is
recomputed). Where the reader can only say "damaged",
verify says what: the pixels, or only a stored checksum (it compares the tiles' CRC-32 and the
pixels' sha256, see `datagen.shards.tiles`). `stray_files` lists what does not belong in the
folder; strays change nothing a reader returns, so they are reported apart.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from datagen.files import file_digest
from datagen.shards.layout import (
    COMPANIONS,
    MANIFEST,
    PARTS,
    SHARD_FILE,
    TEMP_GLOB,
    ids_digest,
    json_digest_name,
    sample_key,
    text_digest,
)
from datagen.shards.manifest import DatasetError, contents_digest, dataset_fingerprint, load_manifest
from datagen.shards.tiles import PIXELS_DIGEST, TILE_CHECKSUMS, array_digest, stored_tile_checksums


def verify_dataset(path: str | os.PathLike, decode: bool = True) -> list[str]:
    """Problems found in the dataset at `path`: manifest, checksums, id lists and counts, and
    (with `decode`) every field of every sample."""
    path = Path(path)
    try:
        manifest = load_manifest(path)
    except DatasetError as error:
        return [str(error)]
    problems: list[str] = []
    build = manifest.get("build")
    if not isinstance(build, dict) or manifest.get("fingerprint") != dataset_fingerprint(
        manifest["kind"], manifest["storage"].get("codec"), manifest["provenance"], build
    ):
        problems.append(
            f"{MANIFEST}: fingerprint does not match kind, storage, provenance and build "
            "(provenance or settings edited after the dataset was written)"
        )
    if manifest.get("contents_sha256") != contents_digest(manifest):
        problems.append(
            f"{MANIFEST}: contents do not match contents_sha256 (fields, storage, shard entries or failures "
            "edited after the dataset was written)"
        )
    listed = {shard["file"] for shard in manifest["shards"]}
    for extra in sorted(p.name for p in path.iterdir() if SHARD_FILE.fullmatch(p.name) and p.name not in listed):
        problems.append(f"{extra}: shard file not listed in {MANIFEST}")
    for shard in manifest["shards"]:
        problems.extend(_verify_shard(path / shard["file"], shard, manifest, decode))
    return problems


def stray_files(path: str | os.PathLike) -> list[str]:
    """Files in a dataset folder that are neither its manifest, its shards nor a datasheet,
    each with what it probably is."""
    path = Path(path)
    known = {MANIFEST, *COMPANIONS}
    temporary = {p.name for p in path.glob(TEMP_GLOB)} | {p.name for p in path.glob(f".{MANIFEST}.*.tmp")}
    strays = []
    for entry in sorted(path.iterdir()):
        name = entry.name
        if name in known or SHARD_FILE.fullmatch(name):
            continue
        if name in temporary:
            strays.append(f"{name}: leftover temporary file of an interrupted write")
        elif name == PARTS:
            strays.append(f"{name}/: leftover build records of an interrupted write")
        else:
            strays.append(f"{name}: not part of the dataset")
    return strays


def _verify_shard(file: Path, shard: dict, manifest: dict, decode: bool) -> list[str]:
    name = file.name
    if not file.is_file():
        return [f"{name}: missing shard file ({shard['num_samples']} samples lost)"]
    digest, size = file_digest(file)
    problems = []
    if size != shard["bytes"]:
        problems.append(f"{name}: size {size} bytes, manifest says {shard['bytes']} (truncated or appended to)")
    if digest != shard["sha256"]:
        problems.append(f"{name}: sha256 mismatch (file changed or corrupt)")
    try:
        handle = h5py.File(file, "r")
    except OSError as error:
        return problems + [f"{name}: cannot be opened as HDF5 ({str(error).splitlines()[0]})"]
    with handle:
        try:
            ids = [value.decode("utf-8") for value in handle["ids"][()]]
        except Exception as error:  # any failure to read the id list is corruption
            return problems + [f"{name}: id list unreadable ({type(error).__name__}: {error})"]
        if len(ids) != shard["num_samples"]:
            problems.append(f"{name}: holds {len(ids)} samples, manifest says {shard['num_samples']}")
        elif ids_digest(ids) != shard["ids_sha256"]:
            problems.append(f"{name}: id list does not match the manifest's ids_sha256")
        if decode:
            fields = manifest["fields"]
            for local, sample_id in enumerate(ids):
                problems.extend(_verify_sample(handle, local, sample_id, fields, name))
    return problems


def _verify_sample(handle: h5py.File, local: int, sample_id: str, fields: list[dict], name: str) -> list[str]:
    where = f"{name} sample {local} (id {sample_id!r})"
    try:
        group = handle[sample_key(local)]
        written_id = group.attrs["id"].decode("utf-8")
    except Exception as error:
        return [f"{where}: missing or unreadable ({type(error).__name__}: {error})"]
    problems = []
    if written_id != sample_id:
        problems.append(f"{where}: the id list says {sample_id!r} but the sample was written as {written_id!r} (id damaged)")
    for spec in fields:
        field = spec["name"]
        try:
            if spec["channels"] == 0:
                problem = _json_problem(group, field)
            elif field in group:
                problem = _pixels_problem(group[field])
            else:
                problem = None
        except Exception as error:  # decode errors surface as assorted h5py/filter exceptions
            problem = f"does not decode ({type(error).__name__}: {error})"
        if problem:
            problems.append(f"{where}: field {field!r} {problem}")
    return problems


def _pixels_problem(dataset: h5py.Dataset) -> str | None:
    """What is wrong with one image field: damaged pixels, or only one of its stored checksums."""
    stored = stored_tile_checksums(dataset)
    bad_tiles = np.argwhere(stored != dataset.attrs[TILE_CHECKSUMS])
    pixels_ok = array_digest(dataset[()]) == dataset.attrs[PIXELS_DIGEST].decode()
    if len(bad_tiles) and not pixels_ok:
        rows, columns = dataset.chunks[:2]
        first = ", ".join(f"rows {r * rows}.., columns {c * columns}.." for r, c in bad_tiles[:3])
        return f"pixels damaged: {len(bad_tiles)} of {stored.size} tiles differ from their checksums ({first})"
    if len(bad_tiles):
        return f"stored tile checksums damaged ({len(bad_tiles)} of {stored.size}); the pixels are those written"
    if not pixels_ok:
        return "stored pixel checksum (sha256) damaged; every tile matches its checksum"
    return None


def _json_problem(group: h5py.Group, field: str) -> str | None:
    if field not in group.attrs:
        return None
    text = group.attrs[field]
    try:
        json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return "damaged: not valid JSON"
    if text_digest(text) != group.attrs[json_digest_name(field)].decode():
        return "does not match its stored checksum (the JSON text or its checksum was damaged)"
    return None
