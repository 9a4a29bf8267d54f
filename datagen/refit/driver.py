"""Refit every object of a list into an `objects` dataset: the shard writer runs one `RefitTask`
per object (in-process, or on dask workers; resumable), then the report is gathered."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from datagen.foreground.kernel_cache import COMPILING_NOTICE
from datagen.foreground.solvers import resolve_options, solver
from datagen.refit.objects import ObjectRef
from datagen.refit.report import SIDE_DIR, gather_report, write_report
from datagen.refit.task import RefitTask
from datagen.runner import Execution

# zstd level 2, not the shards' default 3: on one 0.4 MP object's four fields (256 px tiles) it
# compresses in 30 ms instead of 49 for 1-2% more bytes (fg_full 0.816 against 0.799 of raw).
CODEC = "zstd:2"


def refit_objects(refs: list[ObjectRef], out: str | os.PathLike, *, method: str = "levin",
                  options: Mapping[str, Any] | None = None, execution: Execution = Execution(),
                  provenance: dict | None = None, notify: Callable[[str], None] | None = None):
    """Refit every referenced object into the `objects` dataset `out`; returns (WriteResult, report rows).

    `options` are solver options (`datagen.foreground.solvers`); one the method does not take
    is a ValueError before anything runs. Resumable (finished shards are kept). The report (one
    JSON line per object, failures included) is written to `out/refit-report.jsonl`.
    `notify` gets one line before the work when the solver's kernels are not compiled yet (the
    first run on a machine: about a minute at 0%), nothing otherwise.
    """
    from datagen.shards.build import write_dataset

    options = resolve_options(method, options or {})
    if notify is not None and not solver(method).kernels_cached():
        notify(COMPILING_NOTICE)
    out = Path(out)
    # One object at a time uses every core; several at once (workers, a cluster) one core each.
    threads = None if execution.workers == 1 and execution.scheduler is None else 1
    task = RefitTask(method, options, str(out / SIDE_DIR), threads)
    params = {"method": method, "options": options}
    provenance = {**(provenance or {}), "params": {**(provenance or {}).get("params", {}), **params}}
    result = write_dataset(out, "objects", refs, task, provenance=provenance, shard_size=8, codec=CODEC, execution=execution,
                           desc=f"refit ({method})")
    rows = gather_report(out, refs, result.failures)
    write_report(out, rows)
    return result, rows
