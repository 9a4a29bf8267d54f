"""How many threads the numba kernels of one solve may use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """Run the numba kernels inside on at most `threads` threads (None: numba's default, every core).

    Why: one solve uses every core, which is right for one object at a time; processes that
    each solve an object (dask workers) must take one thread each, or they fight over the cores
    and every parallel phase waits for a descheduled thread. The solvers' results do not depend
    on it. numba is imported only when a limit is set."""
    if threads is None:
        yield
        return
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(previous)
