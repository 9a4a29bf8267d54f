"""One protocol over a benchmark dataset, one task per sample, in-process or on dask workers.

A task carries names only: the benchmark path, the ``--model`` spec, the protocol settings and
the sample index. The model never travels: a torch model on a GPU cannot be pickled to a
worker, and building or unpickling one per sample would cost more than the sample. Instead each
process (this one with ``workers=1``, each dask worker otherwise) opens the benchmark and builds
the model from the spec on its first task of a run, and keeps both for the run's other tasks.
Records come back in dataset order whatever the worker count (:func:`datagen.runner.map_tasks`).
"""

from __future__ import annotations

import fnmatch
import functools
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from datagen.runner import Execution
from datagen.shards import Dataset, DatasetError, open_dataset
from training.evaluation.models import load_model
from training.evaluation.protocols import protocol as protocol_record


@dataclass(frozen=True)
class BenchmarkRun:
    """A finished run: per-sample records in dataset order, and ``repr`` of the model as built
    for the first sample (what a report records as ``model_params``)."""

    records: list[dict]
    model_params: str


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


_lock = threading.Lock()          # a worker with several threads must still build one model
_opened: tuple[_Run, Dataset, object, str] | None = None


def _resources(run: _Run) -> tuple[Dataset, object, str]:
    """This process's benchmark, model and the model's repr for ``run``, made on first use."""
    global _opened
    with _lock:
        if _opened is None or _opened[0] != run:
            _release()
            model = load_model(run.model_spec, run.protocol)
            _opened = (run, open_dataset(run.benchmark), model, repr(model))
        return _opened[1:]


def _release() -> None:
    """Drop the held model and close the benchmark (a GPU model's memory goes with it)."""
    global _opened
    if _opened is not None:
        _opened[1].close()
        _opened = None


def _evaluate_one(run: _Run, index: int) -> tuple[dict, str]:
    """One sample -> (its record, the model's repr); a sample's failure becomes
    ``{"id", "error"}`` so the run goes on, a model that cannot be built stops it."""
    dataset, model, model_params = _resources(run)
    sample_id = dataset.ids[index]
    try:
        record = protocol_record(run.protocol).run(model, dataset[index], run.settings)
    except Exception as exc:  # reported per sample; the rest of the benchmark still runs
        return {"id": sample_id, "error": f"{type(exc).__name__}: {exc}"}, model_params
    return {"id": sample_id, **record}, model_params


def select_samples(ids: list[str], pattern: str | None, limit: int | None) -> list[int]:
    """Indices of the ids matching a shell ``pattern`` (all if None), the first ``limit`` of them."""
    return [i for i, sid in enumerate(ids) if pattern is None or fnmatch.fnmatchcase(sid, pattern)][:limit]


def evaluate_benchmark(protocol: str, benchmark: str, model_spec: str, *, config: Any = None,
                       max_clicks: int = 20, ids: str | None = None, limit: int | None = None,
                       execution: Execution = Execution()) -> BenchmarkRun:
    """Run ``protocol`` ("iseg" | "matting" | "imatting") with the model named by ``model_spec``
    (a ``--model`` string) on the samples of ``benchmark`` in dataset order.

    A model object is refused: it would have to be pickled to every worker. To score a model
    held in memory (e.g. during training), call :mod:`training.evaluation.sample_loops` directly.
    ``ids`` keeps the samples whose id matches a shell pattern (e.g. ``*_trimap1``), then
    ``limit`` keeps the first N of them; selecting nothing is a ``DatasetError``, a spec that
    cannot be built a :class:`~training.evaluation.models.ModelError`.
    """
    from datagen.runner import map_tasks

    record = protocol_record(protocol)
    if not isinstance(model_spec, str):
        raise TypeError(f"evaluate_benchmark takes a model spec (baseline:NAME, package.module:factory or PATH.pt), "
                        f"not a {type(model_spec).__name__} object: each worker builds its own model")
    settings = record.settings(max_clicks) if config is None else config
    listing = open_dataset(benchmark)
    all_ids = listing.ids
    listing.close()
    indices = select_samples(all_ids, ids, limit)
    if not indices:
        raise DatasetError(f"{benchmark}: no sample to evaluate ({len(all_ids)} samples"
                           + (f", none with an id matching {ids!r})" if ids else ")"))
    run = _Run(uuid.uuid4().hex, protocol, str(benchmark), model_spec, settings)
    try:
        results = map_tasks(functools.partial(_evaluate_one, run), indices, workers=execution.workers,
                            scheduler=execution.scheduler, progress=execution.progress, desc=f"evaluate {protocol}",
                            unit="sample")
    finally:
        with _lock:               # an in-process run's model must not outlive it
            _release()
    return BenchmarkRun([record for record, _ in results], results[0][1])
