"""Benchmark builders: DIM recipe throughput (vectorised vs the per-pixel recipe) and import speed.

Run: python tests/bench/benchmarks_build.py
Prints medians and ratios measured in this run; nothing is asserted.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from datagen.runner import Execution
from datagen.benchmarks import dim_recipe
from datagen.importing import get_importer, run_import
from timing import median_seconds  # tests/bench/timing.py, beside this script

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _per_pixel(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The published script's loop (on arrays instead of PIL pixel access): the baseline."""
    out = np.empty_like(fg)
    h, w = alpha.shape
    for y in range(h):
        for x in range(w):
            a = int(alpha[y, x]) / 255
            for c in range(3):
                if a >= 1:
                    out[y, x, c] = fg[y, x, c]
                elif a > 0:
                    out[y, x, c] = int(a * int(fg[y, x, c]) + (1 - a) * int(bg[y, x, c]))
                else:
                    out[y, x, c] = bg[y, x, c]
    return out


def bench_blend() -> None:
    rng = np.random.default_rng(0)
    for side in (64, 1024):
        fg = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        bg = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        alpha = rng.integers(0, 256, (side, side), dtype=np.uint8)
        fast = median_seconds(lambda: dim_recipe.blend_truncated(fg, bg, alpha), 7)
        if side <= 64:
            slow = median_seconds(lambda: _per_pixel(fg, bg, alpha), 3)
            assert np.array_equal(dim_recipe.blend_truncated(fg, bg, alpha), _per_pixel(fg, bg, alpha))
            print(f"blend {side}x{side}: vectorised {fast * 1e3:.3f} ms, per-pixel {slow * 1e3:.1f} ms, ratio {slow / fast:.0f}x")
        else:
            print(f"blend {side}x{side}: vectorised {fast * 1e3:.1f} ms = {side * side / fast / 1e6:.1f} Mpx/s "
                  f"(per-pixel extrapolated from 64x64: ~{side * side / 4096 * slow:.0f} s)")


def bench_build() -> None:
    for name, folder in (("grabcut", "grabcut"), ("davis", "davis345_subset"), ("alphamatting", "alphamatting_training_lowres")):
        for workers in (1, 2):
            with tempfile.TemporaryDirectory() as tmp:
                importer = get_importer("build", name)
                start = time.perf_counter()
                result = run_import(importer, importer.options(root=DATA / folder), Path(tmp) / "o",
                                    execution=Execution(workers=workers, progress=False), shard_size=16, warn=lambda line: None).result
                elapsed = time.perf_counter() - start
            print(f"build {name} ({result.n_samples} samples) workers={workers}: {elapsed:.2f} s, "
                  f"{result.n_samples / elapsed:.1f} samples/s")


if __name__ == "__main__":
    bench_blend()
    bench_build()
