"""The one place where work is spread over processes.

`map_tasks` runs a function over a list of tasks in-process (`workers=1`), on a local
dask.distributed cluster (`workers=N`), or on an existing cluster (`scheduler=ADDRESS`).
Results come back in task order whatever finishes first, so callers that write outputs in
that order are independent of the worker count. `Execution` bundles those three choices (and
whether to show progress) so that the functions above the runner take and pass on one value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Execution:
    """How a job runs, not what it makes: outputs are byte-identical for any of these values, so
    they travel together through every signature between a command and `map_tasks` (and are
    left out of fingerprints and resume checks).

    `workers=1` runs in-process, N > 1 on a local dask cluster of N processes; `scheduler` is
    the address of an existing dask.distributed cluster (it overrides `workers`); `progress`
    shows a progress bar. `map_tasks` checks the values when the work starts."""

    workers: int = 1
    scheduler: str | None = None
    progress: bool = True


def map_tasks(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    desc: str = "",
    progress: bool = True,
    weight: Callable[[T], int] | None = None,
    unit: str = "task",
) -> list[R]:
    """Apply `fn` to every task and return the results in task order.

    `fn` and the tasks must be picklable when running on a cluster (top-level functions,
    `functools.partial`). `weight(task)` sets how far one task advances the progress bar
    (e.g. the number of samples in a shard), so the ETA is in meaningful units.
    An exception in a task propagates: tasks are expected to catch the per-item failures
    they can report themselves.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    weight = weight or (lambda task: 1)
    total = sum(weight(task) for task in tasks)
    with tqdm(total=total, desc=desc, unit=unit, disable=not progress, dynamic_ncols=True) as bar:
        if scheduler is None and workers == 1:
            results = []
            for task in tasks:
                results.append(fn(task))
                bar.update(weight(task))
            return results
        return _map_on_cluster(fn, tasks, workers, scheduler, bar, weight)


def _local_cluster(workers: int):
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
    )


@contextmanager
def shared_cluster(workers: int, scheduler: str | None) -> Iterator[str | None]:
    """A scheduler address for a command that runs several stages: one local cluster for all of
    them (starting one costs seconds), the given scheduler, or None to run in-process."""
    if scheduler is not None or workers == 1:
        yield scheduler
        return
    with _local_cluster(workers) as cluster:
        yield cluster.scheduler_address


def _map_on_cluster(fn, tasks, workers, scheduler, bar, weight) -> list[Any]:
    from distributed import Client, as_completed

    cluster = _local_cluster(workers) if scheduler is None else None
    client = Client(cluster if cluster is not None else scheduler)
    try:
        futures = client.map(fn, list(tasks), pure=False)
        position = {future.key: index for index, future in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        for future in as_completed(futures):
            index = position[future.key]
            results[index] = future.result()
            bar.update(weight(tasks[index]))
            future.release()
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
