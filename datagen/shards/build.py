"""Building a dataset: shard by shard, in parallel, resumably, with its failures and provenance.

Sample i of the output is `make_sample(items[i])`. Items are cut into consecutive shards of
`shard_size`; each shard is one task on the runner, written by a `ShardWriter` (atomic: the
file appears only when complete) and followed by a small record in `.parts/`. A rerun after
an interruption keeps the shards that have a record and an intact file and writes the rest,
so the result is byte-identical to an uninterrupted run. The manifest is written last; its
presence means the dataset is complete.

This module is the orchestration around the shard format (`datagen.shards`): fan-out,
resume, fingerprint, provenance and the failure policy (an item that raises is reported and
the build goes on). It imports the runner (dask, tqdm), which a reader never needs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from datagen import __version__
from datagen.files import file_digest, write_atomic
from datagen.runner import Execution, map_tasks
from datagen.shards.layout import DEFAULT_CODEC, MANIFEST, PARTS, TEMP_GLOB, parse_codec_spec, shard_name
from datagen.shards.manifest import Failure, dataset_fingerprint, manifest_document, write_manifest
from datagen.shards.schema import kind_fields, validate_sample
from datagen.shards.writer import ShardWriter


class DatasetExistsError(ValueError):
    """The output folder already holds a different dataset; nothing is overwritten."""


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
    failures: Sequence[Failure] = (),
    shard_size: int = 64,
    execution: Execution = Execution(),
    desc: str = "",
    codec: str = DEFAULT_CODEC,
) -> WriteResult:
    """Write `make_sample(item)` for every item as a dataset of `kind` under `out`.

    `make_sample` may raise for an item: the item is reported in `result.failures` (and in
    the manifest) and the rest goes on. `failures` are inputs found unusable before any item
    was made (an importer's file without a partner): they are recorded first, so that the
    manifest lists every input that did not become a sample. `provenance` (command, seed,
    params, inputs) is recorded in the manifest; everything in it except `command`, and the
    given `failures`, take part in the fingerprint (`dataset_fingerprint`) that decides
    whether an existing output may be resumed.
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
    build = {"items_sha256": hashlib.sha256("\n".join(map(str, items)).encode()).hexdigest(), "n_items": len(items),
             "shard_size": shard_size}
    listed = [asdict(failure) for failure in failures]
    if listed:  # only when there are any, so that other builds keep their bytes
        build["failures_sha256"] = hashlib.sha256(json.dumps(listed).encode()).hexdigest()
    fingerprint = dataset_fingerprint(kind, codec, provenance, build)

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
    for stale in out.glob(TEMP_GLOB):
        stale.unlink()

    tasks = [
        _ShardTask(str(out), kind, index, tuple(items[start : start + shard_size]), make_sample, codec)
        for index, start in enumerate(range(0, len(items), shard_size))
        if index not in records
    ]
    fresh = map_tasks(
        _build_shard,
        tasks,
        workers=execution.workers,
        scheduler=execution.scheduler,
        desc=desc or f"writing {kind}",
        progress=execution.progress,
        weight=lambda task: len(task.items),
        unit="sample",
    )
    for record in fresh:
        records[record["index"]] = record
    ordered = [records[index] for index in sorted(records)]
    recorded = listed + [failure for record in ordered for failure in record["failures"]]
    manifest = manifest_document(kind, ordered, recorded, codec, provenance, build)
    write_manifest(out, manifest)
    shutil.rmtree(parts)
    return WriteResult(
        out, manifest["num_samples"], [Failure(**f) for f in manifest["failures"]], resumed_shards=len(ordered) - len(fresh)
    )


def _build_shard(task: _ShardTask) -> dict:
    """Make and store one shard's samples, recording the items that fail; runs on a worker."""
    failures: list[dict] = []
    try:
        with ShardWriter(task.out, task.index, task.kind, task.codec) as shard:
            for item in task.items:
                try:
                    sample = task.make_sample(item)
                    validate_sample(task.kind, sample)
                except Exception as error:  # one bad item is reported, the shard goes on
                    failures.append({"item": _describe(item), "error": _message(error)})
                    continue
                shard.add(sample)
            record = {"index": task.index, **shard.finish(), "failures": failures}
    except OSError as error:  # a full or read-only disk: stop the build, naming the shard (h5py does not)
        if error.filename is not None:
            raise
        raise OSError(error.errno, error.strerror or str(error).splitlines()[0], str(Path(task.out) / shard_name(task.index))) from error
    write_atomic(Path(task.out) / PARTS / f"{record['file']}.json", json.dumps(record).encode())
    return record


def _describe(item: Any) -> str:
    """An item as a failure line names it: a tuple (an importer's `(stem, path, ...)`) as its
    first part with the rest in brackets, not Python's repr of a tuple."""
    if isinstance(item, tuple) and item:
        rest = ", ".join(str(part) for part in item[1:] if part is not None)
        text = f"{item[0]} ({rest})" if rest else str(item[0])
    else:
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
