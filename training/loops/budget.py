"""What a run is about to cost, said before it costs it: the memory of one batch's input tensors
against the machine's memory (refused up front when they alone cannot fit), the time to go from
the first steps' pace (with a hint when a CPU would take hours), and loader workers that the
machine's cores can run."""

from __future__ import annotations

import os
from typing import Any

GB = 1e9
TIMED_STEPS = 2
"""Steps timed for the estimate, after the first (which also starts the loader and warms caches)."""
SLOW = 3600.0
"""A schedule longer than this on a CPU gets the hint to use the tiny config or a GPU."""


def duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.2 h``, ``17 days``: as precise as an estimate deserves."""
    if seconds < 100:
        return f"{seconds:.0f} s"
    if seconds < 6000:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def pace_line(network: str, per_step: float, first: int, to_go: int, schedule_to_go: int, device: str) -> str:
    """The one line a run prints once its first steps are timed: steps to go, seconds per step,
    the time to go, and on a CPU whose whole schedule takes more than an hour, what to do instead."""
    line = (f"fit {network}: {to_go} steps to go at {per_step:.2f} s/step (timed on steps {first + 1}-"
            f"{first + TIMED_STEPS}): about {duration(per_step * to_go)}")
    if device == "cpu" and per_step * schedule_to_go > SLOW:
        line += (f"; the whole schedule ({schedule_to_go} steps) takes about {duration(per_step * schedule_to_go)} on "
                 "this CPU: --config tiny trains a CPU-sized network, --device cuda uses a GPU")
    return line


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity, where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def loader_workers(asked: int, report) -> int:
    """``asked`` loader workers, or as many as there are cores (one ``report`` line saying so
    instead of PyTorch's warning at every loader): more would only queue for the same cores.
    The sample stream does not depend on the worker count."""
    cores = usable_cores()
    if asked <= cores:
        return asked
    report(f"train.num_workers={asked} is more than the {cores} CPU core(s) this process may use: "
           f"using {cores} loader worker(s)")
    return cores


def physical_memory() -> int | None:
    """Bytes of RAM of this machine (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_batch_memory(batch_size: int, *datasets: Any, memory: int | None = None) -> None:
    """ValueError in one line when one batch of the largest samples of ``datasets`` (those with
    ``sample_bytes()`` and ``out_size``) needs more bytes for its input tensors alone than the
    machine has: such an ``out_size`` would otherwise stop the run at its first sample, or take
    the machine's memory with it. The network's activations need many times that, so this bound
    only catches sizes that cannot work at all, never a size that merely runs slowly."""
    memory = physical_memory() if memory is None else memory
    sized = [d for d in datasets if hasattr(d, "sample_bytes")]
    if memory is None or not sized:
        return
    largest = max(sized, key=lambda d: d.sample_bytes())
    need = batch_size * largest.sample_bytes()
    if need > memory:
        raise ValueError(f"out_size {largest.config.out_size} px: one batch of {batch_size} needs {need / GB:.0f} GB "
                         f"for its input tensors alone, more than this machine's {memory / GB:.0f} GB of memory "
                         "(the network needs many times more; lower data.out_size: the thesis trains at 320 px)")
