"""manifest.json: what a dataset holds, how it is stored, how it was made.

The manifest is written last by a build: its presence means every shard it lists is complete.
Everything a reader needs to decode the shards (fields, codec, HDF5 filter settings) is in it.

Two identical builds write byte-identical manifests except for the keys in VOLATILE_KEYS: when
(`created`) and with which command line (`provenance.command`, which includes `--workers`) it
was run. Neither takes part in the `fingerprint`, which `verify` recomputes from `kind`,
`storage.codec`, `provenance` and `build` (what was asked for: the items' digest and count and
the shard size), so an edit of any of those after the build is caught; `contents_sha256`
covers the rest (fields, storage, shard entries, counts, failures), which is what a reader uses.
The reader itself refuses only the edits that would make it return wrong samples (entries out
of order, a file outside the folder, counts that do not add up); verify catches every edit.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from datagen.files import write_atomic
from datagen.shards.layout import MANIFEST, PARTS, SHARD_FILE, TILE, as_json_text, storage_options
from datagen.shards.schema import FORMAT_NAME, KINDS, SCHEMA_VERSION, kind_fields

# What a shard entry of the manifest keeps from the record its writer returned.
SHARD_KEYS = ("file", "num_samples", "sha256", "bytes", "ids_sha256")
# Keys (as paths) whose values differ between two identical builds; nothing else does.
VOLATILE_KEYS = (("created",), ("provenance", "command"))
# Keys that `contents_sha256` does not cover: the fingerprint covers the first two, the volatile
# `created` is left out on purpose, and the last two are digests themselves.
_NOT_CONTENTS = ("provenance", "build", "created", "fingerprint", "contents_sha256")
_REQUIRED = {"kind": str, "num_samples": int, "fields": list, "storage": dict, "shards": list, "provenance": dict}


@dataclass(frozen=True)
class Failure:
    """One entry of a manifest's `failures`: an input that did not become a sample, and why.

    `item` names the input (a sample's item, a file or a folder of the inputs) and `error`
    says what was wrong with it; `str()` is the one line a command prints for it."""

    item: str
    error: str

    def __str__(self) -> str:
        return f"{self.item}: {self.error}"


class DatasetError(ValueError):
    """A folder that is not a readable dataset; the message says why."""


class DamagedShardError(DatasetError):
    """A shard file, or a sample or field in it, that no longer holds what was written.

    The message names the file and, where known, the sample id and the field; so do the
    attributes, for callers that report failures per sample."""

    def __init__(self, file: str | os.PathLike, problem: str, sample_id: str | None = None, field: str | None = None):
        self.file, self.sample_id, self.field = str(file), sample_id, field
        where = "".join([f": sample {sample_id!r}" if sample_id is not None else "", f" field {field!r}" if field else ""])
        super().__init__(f"{file}{where}: {problem}")


def load_manifest(path: str | os.PathLike) -> dict:
    """Parse and sanity-check the manifest.json of dataset folder `path`."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not path.exists():
        raise DatasetError(f"{path}: no such folder")
    if not manifest_path.exists():
        hint = " (an unfinished write: rerun the command to resume it)" if (path / PARTS).exists() else ""
        raise DatasetError(f"{path}: not a dataset, {MANIFEST} is missing{hint}")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatasetError(f"{manifest_path}: not valid JSON ({error})") from None
    except OSError as error:
        raise DatasetError(f"{manifest_path}: cannot be read ({error.strerror})") from None
    if not isinstance(manifest, dict):
        raise DatasetError(f"{manifest_path}: expected a JSON object, found a {type(manifest).__name__}")
    if manifest.get("format") != FORMAT_NAME:
        raise DatasetError(f"{manifest_path}: not a {FORMAT_NAME} manifest")
    version = manifest.get("schema_version")
    if version == 1:
        raise DatasetError(
            f"{manifest_path}: schema version 1, written before shards carried the checksums this reader "
            "checks on every read; rebuild it with this version (the same command)"
        )
    if version != SCHEMA_VERSION:
        raise DatasetError(f"{manifest_path}: schema version {version}, this reader knows {SCHEMA_VERSION}")
    _check_structure(manifest, manifest_path)
    return manifest


def _check_structure(manifest: dict, manifest_path: Path) -> None:
    """What the reader relies on: the keys it reads, and shard entries that are plain shard
    names of this folder, listed in the order they were written, whose counts add up."""
    for key, kind in _REQUIRED.items():
        if not isinstance(manifest.get(key), kind):
            state = "lacks" if key not in manifest else f"has a {type(manifest[key]).__name__} for"
            raise DatasetError(f"{manifest_path}: {state} {key!r} (a {kind.__name__} is expected)")
    if manifest["kind"] not in KINDS:
        raise DatasetError(f"{manifest_path}: unknown dataset kind {manifest['kind']!r}")
    previous = ""
    for position, shard in enumerate(manifest["shards"]):
        if not isinstance(shard, dict) or any(key not in shard for key in SHARD_KEYS):
            raise DatasetError(f"{manifest_path}: shard entry {position} lacks one of {', '.join(SHARD_KEYS)}")
        name = shard["file"]
        if not isinstance(name, str) or not SHARD_FILE.fullmatch(name):
            raise DatasetError(f"{manifest_path}: shard entry {position} names {name!r}, not a shard file of this folder")
        if name <= previous:
            raise DatasetError(f"{manifest_path}: shard entries out of order ({name} listed after {previous})")
        count = shard["num_samples"]
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise DatasetError(f"{manifest_path}: shard entry {name} has num_samples {count!r}")
        previous = name
    total = sum(shard["num_samples"] for shard in manifest["shards"])
    if total != manifest["num_samples"]:
        raise DatasetError(f"{manifest_path}: shards hold {total} samples but num_samples says {manifest['num_samples']}")


def dataset_fingerprint(kind: str, codec: str, provenance: dict, build: dict) -> str:
    """What a build was asked to make, as one digest: equal for the same job whatever the
    worker count or command line (`provenance.command` is left out)."""
    document = {
        "kind": kind,
        "codec": codec,
        "build": build,
        "provenance": {key: value for key, value in provenance.items() if key != "command"},
    }
    return hashlib.sha256(as_json_text(document).encode()).hexdigest()


def contents_digest(manifest: dict) -> str:
    """sha256 of everything in a manifest that the fingerprint does not cover (see the module notes)."""
    return hashlib.sha256(as_json_text({k: v for k, v in manifest.items() if k not in _NOT_CONTENTS}).encode()).hexdigest()


def manifest_document(
    kind: str, shards: list[dict], failures: list[dict], codec: str, provenance: dict, build: dict
) -> dict:
    """The manifest of a dataset made of `shards` (records from `ShardWriter.finish`, in order);
    `build` is what the job was asked to make (`datagen.shards.build` records the items' digest and
    count and the shard size), kept so that the fingerprint can be recomputed.

    Fields are listed in schema order with every dtype seen; empty shards are left out.
    Raises ValueError if two samples share an id (ids are how users and tools name samples).
    """
    seen: dict[str, set[str]] = {}
    for shard in shards:
        for name, dtype in shard["dtypes"].items():
            seen.setdefault(name, set()).add(dtype)
    fields = [
        {"name": name, "dtypes": sorted(seen[name]), "channels": spec.channels, "doc": spec.doc}
        for name, spec in kind_fields(kind).items()
        if name in seen
    ]
    all_ids = [sample_id for shard in shards for sample_id in shard["ids"]]
    duplicates = sorted(sample_id for sample_id, count in Counter(all_ids).items() if count > 1)
    if duplicates:
        raise ValueError(f"duplicate sample ids: {', '.join(duplicates[:10])}")
    manifest = {
        "format": FORMAT_NAME,
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "num_samples": len(all_ids),
        "fields": fields,
        "storage": {"codec": codec, "tile": TILE, **storage_options(codec)},
        "shards": [{key: shard[key] for key in SHARD_KEYS} for shard in shards if shard["num_samples"]],
        "failures": failures,
        "provenance": provenance,
        "build": build,
        "fingerprint": dataset_fingerprint(kind, codec, provenance, build),
    }
    manifest["contents_sha256"] = contents_digest(manifest)
    manifest["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return manifest


def write_manifest(folder: str | os.PathLike, manifest: dict) -> None:
    """Write manifest.json atomically: a dataset is either complete or has no manifest."""
    write_atomic(Path(folder) / MANIFEST, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
