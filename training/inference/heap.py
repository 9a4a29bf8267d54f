"""Keep freed memory for reuse while a network runs (glibc's malloc).

Why: glibc serves every block above its mmap threshold (at most 32 MB) with a fresh ``mmap``
and returns it to the kernel on ``free``. A thesis-size network at 1080p allocates and frees
tens of such activations per forward (a 2048-channel map at 1/8 resolution is 267 MB), so the
kernel faults in and zeroes about 26 GB of new pages per image: 12 s of system time on two cores,
a sixth of the wall time of a CPU predict (``tests/bench/predict.py``). Inside
:func:`kept_memory`, large blocks come from the heap and freed ones stay there, so a freed
activation's memory is reused by the next one, as PyTorch's caching allocator does on a GPU.

On leaving, the usual settings come back and the heap's free memory is given back to the kernel
(``malloc_trim``): the full-size steps after the network (fusion, PNG writing of a 100 MP
picture) run with the memory they used before, and a server does not hold a forward's peak while
idle. Where the C library is not glibc nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
KEEP_BYTES = 2 ** 31 - 1
"""Free memory at the heap's top that malloc keeps inside :func:`kept_memory` (a C int)."""
DEFAULT_TRIM_THRESHOLD = 128 * 1024
DEFAULT_MMAP_MAX = 65536
"""glibc's own values of the two settings, restored on leaving."""

_lock = threading.Lock()
_depth = 0


@cache
def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt, libc.malloc_trim                                   # noqa: B018  (both, or none)
    except (OSError, AttributeError):
        return None
    return libc


@contextmanager
def kept_memory(enabled: bool = True) -> Iterator[bool]:
    """Within: malloc serves large blocks from its heap and keeps what is freed; on leaving the
    last of nested or concurrent uses: glibc's settings back, and free heap memory returned.
    Yields whether glibc took the settings (False where it is not glibc, or not ``enabled``:
    then nothing changed). Predictors enable it for torch networks only: onnxruntime has its own
    arena, and TorchScript's executor measured no faster with it, at twice the peak memory."""
    global _depth
    libc = _glibc() if enabled else None
    with _lock:
        kept = libc is not None and (_depth > 0 or bool(libc.mallopt(M_MMAP_MAX, 0)
                                                        and libc.mallopt(M_TRIM_THRESHOLD, KEEP_BYTES)))
        _depth += kept
    try:
        yield kept
    finally:
        with _lock:
            _depth -= kept
            if kept and not _depth and libc is not None:
                libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
                libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
                libc.malloc_trim(0)
