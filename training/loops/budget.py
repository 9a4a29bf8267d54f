"""What a run is about to cost, said before it costs it: the memory of one batch's input tensors
against the machine's memory (refused up front when they alone cannot fit)."""

from __future__ import annotations

import os
from typing import Any

GB = 1e9


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
