"""Freed memory kept while a network runs (training.inference.heap): inside the block a freed
256 MB tensor's memory is reused without page faults; after it glibc's default is back."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

FAULTS = textwrap.dedent("""
    import resource, sys
    import torch
    from training.inference.heap import kept_memory
    faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    def three_rounds():
        counts = []
        for _ in range(3):                               # 256 MB, allocated, touched and freed
            before = faults()
            float(torch.ones(64 * 2 ** 20).sum())
            counts.append(faults() - before)
        return counts[-1]
    if sys.argv[1] == "kept":
        with kept_memory() as kept:
            assert kept
            inside = three_rounds()
        print(inside, three_rounds())                    # and after: glibc's default again
    else:
        print(three_rounds())
""")


def test_kept_memory_is_reused_without_new_page_faults():
    """256 MB allocated and freed three times: glibc's default maps fresh pages every time (65 536
    faults of 4 KB, fewer with transparent huge pages); kept memory needs none once the heap holds
    it; after the block, the default again (the memory was given back)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("glibc's malloc")
    run = lambda mode: [int(v) for v in subprocess.run(  # noqa: E731
        [sys.executable, "-c", FAULTS, mode], check=True, capture_output=True, text=True).stdout.split()]
    (inside, after), (default,) = run("kept"), run("default")
    assert inside < 1000 and 10 * inside < default, (inside, default)
    assert after > default // 2, (after, default)


def test_disabled_or_nested_blocks_change_nothing_until_the_outer_one_ends():
    from training.inference import heap

    with heap.kept_memory(enabled=False) as kept:
        assert not kept and heap._depth == 0
    if heap._glibc() is None:
        pytest.skip("glibc's malloc")
    with heap.kept_memory() as outer:
        with heap.kept_memory() as inner:
            assert outer and inner and heap._depth == 2
        assert heap._depth == 1
    assert heap._depth == 0
