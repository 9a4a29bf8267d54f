"""Writing a dataset: shard by shard, in parallel, atomically, resumably.

Sample i of the output is `make_sample(items[i])`. Items are cut into consecutive shards of
`shard_size`; each shard is one task on the runner and is written to a temporary file that
is renamed into place only when complete, followed by a small record in `.parts/`. A rerun
after an interruption keeps the shards that have a record and an intact file and writes the
rest, so the result is byte-identical to an uninterrupted run. The manifest is written last;
its presence means the dataset is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from datagen import __version__
from datagen.imageio import write_atomic
from datagen.runner import map_tasks
from datagen.shards.layout import (
    DEFAULT_CODEC,
    MANIFEST,
    TILE,
    as_json_text,
    fixed_text,
    parse_codec_spec,
    sample_key,
    shard_name,
    storage_options,
    write_array,
)
from datagen.shards.schema import FORMAT_NAME, SCHEMA_VERSION, kind_fields, validate_sample

PARTS = ".parts"


class DatasetExistsError(ValueError):
    """The output folder already holds a different dataset; nothing is overwritten."""


@dataclass(frozen=True)
class Failure:
    """One item that could not become a sample, and why (the message names the file)."""

    item: str
    error: str

    def __str__(self) -> str:
        return f"{self.item}: {self.error}"


@dataclass
class WriteResult:
    path: Path
    n_samples: int
    failures: list[Failure] = field(default_factory=list)
    resumed_shards: int = 0
    up_to_date: bool = False


@dataclass(frozen=True)
class _ShardTask:
    out: str
    kind: str
    index: int
    items: tuple
    make_sample: Callable[[Any], dict]
    codec: str


def write_dataset(
    out: str | os.PathLike,
    kind: str,
    items: Sequence[Any],
    make_sample: Callable[[Any], dict],
    *,
    provenance: dict | None = None,
    shard_size: int = 64,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
    desc: str = "",
    codec: str = DEFAULT_CODEC,
) -> WriteResult:
    """Write `make_sample(item)` for every item as a dataset of `kind` under `out`.

    `make_sample` may raise for an item: the item is reported in `result.failures` (and in
    the manifest) and the rest goes on. `provenance` (command, seed, params, inputs) is
    recorded in the manifest; everything in it except `command` takes part in the
    fingerprint that decides whether an existing output may be resumed.
    """
    fields = kind_fields(kind)
    unknown = sorted(set(parse_codec_spec(codec)[1]) - set(fields))
    if unknown:
        raise ValueError(f"codec {codec!r} names fields {unknown} that kind {kind!r} does not have ({', '.join(fields)})")
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    out = Path(out)
    items = list(items)
    provenance = _complete_provenance(provenance or {})
    fingerprint = _fingerprint(kind, items, shard_size, codec, provenance)

    existing = _existing_manifest(out)
    if existing is not None:
        if existing.get("fingerprint") != fingerprint:
            raise DatasetExistsError(
                f"{out} already holds a dataset made with other inputs or settings; "
                "choose another --out or delete it"
            )
        return WriteResult(out, existing["num_samples"], [Failure(**f) for f in existing["failures"]], up_to_date=True)

    parts = out / PARTS
    records = _resumable_records(out, fingerprint)
    parts.mkdir(parents=True, exist_ok=True)
    write_atomic(parts / "fingerprint", fingerprint.encode())
    for stale in out.glob(".shard-*.tmp"):
        stale.unlink()

    tasks = [
        _ShardTask(str(out), kind, index, tuple(items[start : start + shard_size]), make_sample, codec)
        for index, start in enumerate(range(0, len(items), shard_size))
        if index not in records
    ]
    fresh = map_tasks(
        _write_shard,
        tasks,
        workers=workers,
        scheduler=scheduler,
        desc=desc or f"writing {kind}",
        progress=progress,
        weight=lambda task: len(task.items),
        unit="sample",
    )
    for record in fresh:
        records[record["index"]] = record
    ordered = [records[index] for index in sorted(records)]
    manifest = _manifest(kind, ordered, codec, provenance, fingerprint)
    write_atomic(out / MANIFEST, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
    shutil.rmtree(parts)
    return WriteResult(
        out, manifest["num_samples"], [Failure(**f) for f in manifest["failures"]], resumed_shards=len(ordered) - len(fresh)
    )


def _write_shard(task: _ShardTask) -> dict:
    """Make and store one shard's samples; runs on a worker."""
    out = Path(task.out)
    name = shard_name(task.index)
    tmp = out / f".{name}.{os.getpid()}.tmp"
    ids: list[str] = []
    dtypes: dict[str, str] = {}
    failures: list[dict] = []
    default_codec, field_codecs = parse_codec_spec(task.codec)  # once per shard, not per field
    with h5py.File(tmp, "w") as handle:
        handle.attrs["format"] = fixed_text(FORMAT_NAME)
        handle.attrs["schema_version"] = SCHEMA_VERSION
        handle.attrs["kind"] = fixed_text(task.kind)
        for item in task.items:
            try:
                sample = task.make_sample(item)
                validate_sample(task.kind, sample)
            except Exception as error:  # one bad item is reported, the shard goes on
                failures.append({"item": _describe(item), "error": _message(error)})
                continue
            group = handle.create_group(sample_key(len(ids)))
            for key, value in sample.items():
                if key == "id":
                    continue
                if isinstance(value, dict):
                    group.attrs[key] = fixed_text(as_json_text(value))
                    dtypes[key] = "json"
                    continue
                write_array(group, key, value, field_codecs.get(key, default_codec))
                dtypes.setdefault(key, value.dtype.name)
                if dtypes[key] != value.dtype.name:
                    dtypes[key] = "mixed"
            ids.append(sample["id"])
        if ids:
            handle.create_dataset("ids", data=np.array([sample_id.encode("utf-8") for sample_id in ids]))
    if ids:
        digest, size = file_digest(tmp)
        os.replace(tmp, out / name)
    else:  # every item failed: no file, only the record of the failures
        tmp.unlink()
        digest, size = None, 0
    record = {
        "index": task.index,
        "file": name,
        "num_samples": len(ids),
        "sha256": digest,
        "bytes": size,
        "ids_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
        "ids": ids,
        "dtypes": dtypes,
        "failures": failures,
    }
    write_atomic(out / PARTS / f"{name}.json", json.dumps(record).encode())
    return record


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 hex digest and size of a file, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _describe(item: Any) -> str:
    text = str(item)
    return text if len(text) <= 300 else text[:297] + "..."


def _message(error: Exception) -> str:
    text = str(error)
    return text if text else type(error).__name__


def _complete_provenance(provenance: dict) -> dict:
    return {
        "command": provenance.get("command", " ".join(sys.argv)),
        "package": "matting-datagen",
        "version": __version__,
        **{key: value for key, value in provenance.items() if key != "command"},
    }


def _fingerprint(kind: str, items: list, shard_size: int, codec: str, provenance: dict) -> str:
    stable = {key: value for key, value in provenance.items() if key != "command"}
    document = {
        "kind": kind,
        "items": hashlib.sha256("\n".join(map(str, items)).encode()).hexdigest(),
        "n_items": len(items),
        "shard_size": shard_size,
        "codec": codec,
        "provenance": stable,
    }
    return hashlib.sha256(as_json_text(document).encode()).hexdigest()


def _existing_manifest(out: Path) -> dict | None:
    path = out / MANIFEST
    if not path.exists():
        if out.exists() and not out.is_dir():
            raise DatasetExistsError(f"{out} exists and is not a folder")
        if out.is_dir() and not (out / PARTS).exists() and any(out.iterdir()):
            raise DatasetExistsError(f"{out} is a non-empty folder that is not a dataset; choose another --out")
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DatasetExistsError(f"{path} is not valid JSON ({error}); delete the folder to rebuild") from None


def _resumable_records(out: Path, fingerprint: str) -> dict[int, dict]:
    """Records of shards finished by an earlier run of the same job, checked against their files."""
    parts = out / PARTS
    if not parts.exists():
        return {}
    previous = (parts / "fingerprint").read_text() if (parts / "fingerprint").exists() else None
    if previous != fingerprint:
        raise DatasetExistsError(
            f"{out} holds an unfinished dataset made with other inputs or settings; "
            "choose another --out or delete it"
        )
    records = {}
    for path in sorted(parts.glob("shard-*.json")):
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue  # a torn record: the shard is simply written again
        shard = out / record["file"]
        if record["num_samples"] == 0 or (shard.exists() and file_digest(shard)[0] == record["sha256"]):
            records[record["index"]] = record
    return records


def _manifest(kind: str, records: list[dict], codec: str, provenance: dict, fingerprint: str) -> dict:
    specs = kind_fields(kind)
    seen: dict[str, set[str]] = {}
    for record in records:
        for name, dtype in record["dtypes"].items():
            seen.setdefault(name, set()).add(dtype)
    fields = [
        {"name": name, "dtypes": sorted(seen[name]), "channels": spec.channels, "doc": spec.doc}
        for name, spec in specs.items()
        if name in seen
    ]
    all_ids = [sample_id for record in records for sample_id in record["ids"]]
    duplicates = sorted(sample_id for sample_id, count in Counter(all_ids).items() if count > 1)
    if duplicates:
        raise ValueError(f"duplicate sample ids: {', '.join(duplicates[:10])}")
    return {
        "format": FORMAT_NAME,
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "num_samples": len(all_ids),
        "fields": fields,
        "storage": {"codec": codec, "tile": TILE, **storage_options(codec)},
        "shards": [
            {key: record[key] for key in ("file", "num_samples", "sha256", "bytes", "ids_sha256")}
            for record in records
            if record["num_samples"]
        ],
        "failures": [failure for record in records for failure in record["failures"]],
        "provenance": provenance,
        "fingerprint": fingerprint,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
