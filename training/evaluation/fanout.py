"""One protocol over a benchmark dataset, one task per sample, in-process or on dask workers.

A task carries names only: the benchmark path, the ``--model`` spec, the protocol settings and
the sample index. The model never travels: a torch model on a GPU cannot be pickled to a
worker, and building or unpickling one per sample would cost more than the sample. Instead each
process (this one with ``workers=1``, each dask worker otherwise) opens the benchmark and builds
the model from the spec on its first task of a run, and keeps both for the run's other tasks.
Records come back in dataset order whatever the worker count (:func:`datagen.runner.map_tasks`).

Resuming: with a ``records`` folder, each scored sample is also written there as it finishes
(one JSON file per sample, written to a temporary name and renamed, so a kill leaves either the
whole record or none), in a subfolder named by the run's fingerprint (benchmark contents, model
spec and checkpoint file, protocol settings). A rerun with the same fingerprint scores only the
samples without a record; a changed benchmark, model or setting gets a new subfolder. Failed
samples are not kept: a rerun tries them again.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datagen.runner import Execution
from datagen.shards import Dataset, DatasetError, open_dataset
from training.evaluation.models import load_model
from training.evaluation.protocols import benchmark_mismatch
from training.evaluation.protocols import protocol as protocol_record


@dataclass(frozen=True)
class BenchmarkRun:
    """A finished run: per-sample records in dataset order, ``repr`` of the model as built
    for the first sample (what a report records as ``model_params``), whether the model says it
    uses the previous mask (its ``uses_previous_mask``; None when it does not say) and how many
    records were reused from an interrupted run."""

    records: list[dict]
    model_params: str
    uses_previous_mask: bool | None = None
    resumed: int = 0


@dataclass(frozen=True)
class _Run:
    """Everything a task needs besides its sample index; ``token`` is unique per run, so that a
    long-lived worker (``--scheduler``) rebuilds the model for a new run instead of reusing one
    from a checkpoint that may have changed."""

    token: str
    protocol: str
    benchmark: str
    model_spec: str
    settings: Any
    records: str | None = None        # the fingerprinted folder of finished samples, if resumable


_lock = threading.Lock()          # a worker with several threads must still build one model
_opened: tuple[_Run, Dataset, object, dict] | None = None


def _model_info(model: object) -> dict:
    """What a report records about the built model: its repr and whether it uses the previous mask."""
    uses = getattr(model, "uses_previous_mask", None)
    return {"model_params": repr(model), "uses_previous_mask": None if uses is None else bool(uses)}


def _resources(run: _Run) -> tuple[Dataset, object, dict]:
    """This process's benchmark, model and the model's info for ``run``, made on first use."""
    global _opened
    with _lock:
        if _opened is None or _opened[0] != run:
            _release()
            model = load_model(run.model_spec, run.protocol)
            _opened = (run, open_dataset(run.benchmark), model, _model_info(model))
        return _opened[1:]


def _release() -> None:
    """Drop the held model and close the benchmark (a GPU model's memory goes with it)."""
    global _opened
    if _opened is not None:
        _opened[1].close()
        _opened = None


def _write_atomic(path: Path, doc: dict) -> None:
    """Write JSON under a temporary name, then rename: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)


def _evaluate_one(run: _Run, index: int) -> tuple[dict, dict]:
    """One sample -> (its record, the model's info); a sample's failure becomes
    ``{"id", "error"}`` so the run goes on, a model that cannot be built stops it. A scored
    sample is also written to the run's records folder, if it has one."""
    dataset, model, info = _resources(run)
    sample_id = dataset.ids[index]
    try:
        record = {"id": sample_id, **protocol_record(run.protocol).run(model, dataset[index], run.settings)}
    except Exception as exc:  # reported per sample; the rest of the benchmark still runs
        return {"id": sample_id, "error": f"{type(exc).__name__}: {exc}"}, info
    if run.records is not None:
        folder = Path(run.records)
        folder.mkdir(parents=True, exist_ok=True)     # on the first record: a run that never starts leaves nothing
        _write_atomic(folder / "model.json", info)
        _write_atomic(folder / f"{index}.json", _sendable(record))
    return record, info


def _sendable(value: Any) -> Any:
    """A record as JSON keeps it (NaN stays NaN: Python's json writes and reads it)."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))


def run_fingerprint(protocol: str, benchmark: str, manifest: dict, model_spec: str, settings: Any) -> str:
    """What a finished sample's record depends on: the protocol and its settings, the benchmark's
    contents (its manifest's checksum) and the model spec, with the size and modification time
    of a checkpoint file it names (a retrained checkpoint is a different model)."""
    model_file = Path(model_spec)
    stat = model_file.stat() if model_file.suffix == ".pt" and model_file.is_file() else None
    parts = [protocol, str(Path(benchmark).resolve()), manifest.get("contents_sha256") or manifest.get("fingerprint"),
             model_spec, None if stat is None else [stat.st_size, stat.st_mtime_ns], repr(settings)]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def _finished(folder: Path, indices: list[int], ids: list[str]) -> dict[int, dict]:
    """The records of an earlier run with the same fingerprint, by sample index (checked by id)."""
    out = {}
    for index in indices:
        path = folder / f"{index}.json"
        if path.is_file():
            record = json.loads(path.read_text())
            if record.get("id") == ids[index]:
                out[index] = record
    return out


def select_samples(ids: list[str], pattern: str | None, limit: int | None) -> list[int]:
    """Indices of the ids matching a shell ``pattern`` (all if None), the first ``limit`` of them."""
    return [i for i, sid in enumerate(ids) if pattern is None or fnmatch.fnmatchcase(sid, pattern)][:limit]


def evaluate_benchmark(protocol: str, benchmark: str, model_spec: str, *, config: Any = None,
                       max_clicks: int = 20, ids: str | None = None, limit: int | None = None,
                       execution: Execution = Execution(), records: str | Path | None = None) -> BenchmarkRun:
    """Run ``protocol`` ("iseg" | "matting" | "imatting") with the model named by ``model_spec``
    (a ``--model`` string) on the samples of ``benchmark`` in dataset order.

    A model object is refused: it would have to be pickled to every worker. To score a model
    held in memory (e.g. during training), call :mod:`training.evaluation.sample_loops` directly.
    ``ids`` keeps the samples whose id matches a shell pattern (e.g. ``*_trimap1``), then
    ``limit`` keeps the first N of them; selecting nothing is a ``DatasetError``, a spec that
    cannot be built a :class:`~training.evaluation.models.ModelError`, and a benchmark without
    the fields the protocol reads (:func:`~training.evaluation.protocols.benchmark_mismatch`) a
    ``DatasetError`` before any sample runs. ``records``: a folder to resume from and to keep
    finished samples in (module notes); the caller removes it once the report is written.
    """
    from datagen.runner import map_tasks

    record = protocol_record(protocol)
    if not isinstance(model_spec, str):
        raise TypeError(f"evaluate_benchmark takes a model spec (baseline:NAME, package.module:factory or PATH.pt), "
                        f"not a {type(model_spec).__name__} object: each worker builds its own model")
    settings = record.settings(max_clicks) if config is None else config
    listing = open_dataset(benchmark)
    try:
        all_ids, fields, manifest = listing.ids, listing.fields, listing.manifest
    finally:
        listing.close()
    trimap_free = bool(manifest.get("provenance", {}).get("params", {}).get("trimap_free"))
    mismatch = benchmark_mismatch(protocol, fields, trimap_free)
    if mismatch:
        raise DatasetError(f"{benchmark}: {mismatch}")
    indices = select_samples(all_ids, ids, limit)
    if not indices:
        raise DatasetError(f"{benchmark}: no sample to evaluate ({len(all_ids)} samples"
                           + (f", none with an id matching {ids!r})" if ids else ")"))
    # absolute: a worker's working folder may differ from this process's
    folder = None if records is None else \
        Path(records).resolve() / run_fingerprint(protocol, str(benchmark), manifest, model_spec, settings)
    done: dict[int, dict] = {}
    if folder is not None and folder.is_dir():
        done = _finished(folder, indices, all_ids)
    todo = [i for i in indices if i not in done]
    run = _Run(uuid.uuid4().hex, protocol, str(benchmark), model_spec, settings, None if folder is None else str(folder))
    try:
        results = map_tasks(functools.partial(_evaluate_one, run), todo, workers=execution.workers,
                            scheduler=execution.scheduler, progress=execution.progress, desc=f"evaluate {protocol}",
                            unit="sample") if todo else []
    finally:
        with _lock:               # an in-process run's model must not outlive it
            _release()
    fresh = dict(zip(todo, results, strict=True))
    info = results[0][1] if results else json.loads((folder / "model.json").read_text())  # type: ignore[operator]
    merged = [done[i] if i in done else fresh[i][0] for i in indices]
    return BenchmarkRun(merged, info["model_params"], info["uses_previous_mask"], len(done))
