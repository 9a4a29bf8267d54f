"""Benchmark foreground re-estimation: seconds per image and peak memory, side by side.

    python tests/bench/refit.py                    # 0.25, 1 and 4 MP, all four methods
    python tests/bench/refit.py --sizes 1 --methods levin,cf --repeats 1   # first calls only

Methods: our `levin` (solveFB energy, margin 0, CG preconditioned by a grid multigrid V-cycle,
on every core) and `multilevel` (Germer et al., numba), pymatting's `estimate_foreground_cf` and
`estimate_foreground_ml`. Every (method, size) runs in a fresh subprocess so peak memory is its
own: the kernel's peak-RSS mark is reset before each call and the peak above the RSS just
before is reported. Compilation (pymatting's numba, our cache loads) is paid in a warm-up call
on a tiny object before timing; then `--repeats` calls, median printed. Inputs are demo objects
(exact F known), so the F error in alpha > 0 (0..255 scale) is printed beside the speed. Ratios
are against pymatting cf measured in the same run; machines are noisy, so compare ratios, not
seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

METHODS = ("levin", "multilevel", "cf", "ml")


def _rss_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status (VmRSS now, VmHWM the peak)."""
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(field + ":"))


class _PeakRss:
    """Peak RSS while the block runs, above the RSS at entry: the kernel's high-water mark,
    reset on entry (`clear_refs` 5). Not a sampling thread: one waking every few ms steals a
    core from a solver that uses both (it slowed levin's 2-thread solve by ~1.6x at 1 MP)."""

    def __enter__(self):
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        self.base = _rss_kib("VmRSS")
        return self

    def __exit__(self, *exc):
        self.peak = _rss_kib("VmHWM")

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.base) / 1024


def estimator(method: str):
    """F (HxWx3 float) from (image, alpha) by `method`, one of METHODS (refit_accuracy.py uses it too)."""
    if method == "levin":
        from datagen.foreground.levin import estimate_fb_levin

        return lambda image, alpha: estimate_fb_levin(image, alpha)[0]
    if method == "multilevel":
        from datagen.foreground.multilevel import estimate_fb_multilevel

        return lambda image, alpha: estimate_fb_multilevel(image, alpha)[0]
    from pymatting import estimate_foreground_cf, estimate_foreground_ml

    function = estimate_foreground_cf if method == "cf" else estimate_foreground_ml
    return lambda image, alpha: function(image, alpha, return_background=False)


def _child(method: str, megapixels: float, repeats: int) -> dict:
    from datagen.demo.objects import make_object

    side = int(round((megapixels * 1e6) ** 0.5))
    obj = make_object(7, (side, side), kind="fur")
    image = obj.fg.astype(np.float64) / 255.0
    alpha = obj.alpha.astype(np.float64) / 255.0
    estimate = estimator(method)
    tiny = make_object(1, (32, 32), kind="fur")
    estimate(tiny.fg / 255.0, tiny.alpha / 255.0)  # imports, numba compilation
    seconds, peaks = [], []
    for _ in range(repeats):
        with _PeakRss() as peak:
            start = time.perf_counter()
            foreground = estimate(image, alpha)
            seconds.append(time.perf_counter() - start)
        peaks.append(peak.extra_mb)
        del foreground
    foreground = estimate(image, alpha)
    inside = alpha > 0
    error = float(np.abs(foreground - obj.F)[inside].mean() * 255.0)
    return {"method": method, "mp": side * side / 1e6, "seconds": statistics.median(seconds),
            "peak_mb": max(peaks), "f_error": error}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0.25,1,4", help="megapixels, comma separated")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed calls per (method, size) after the warm-up; the median is printed")
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "MP", "REPEATS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], float(args.child[1]), int(args.child[2]))))
        return
    rows = []
    for size in args.sizes.split(","):
        for method in args.methods.split(","):
            done = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child", method, size, str(args.repeats)],
                capture_output=True, text=True, check=True,
            )
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"  {method:<10} {row['mp']:5.2f} MP  {row['seconds']:7.2f} s  "
                  f"peak +{row['peak_mb']:7.0f} MB  F err {row['f_error']:.2f}", flush=True)
    print("\n| MP | method | s/image | s/MP | peak MB | F error (0-255, alpha>0) | speed vs cf | memory vs cf |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        cf = next((r for r in rows if r["method"] == "cf" and r["mp"] == row["mp"]), None)
        speed = f"{cf['seconds'] / row['seconds']:.1f}x" if cf else "-"
        memory = f"{row['peak_mb'] / max(cf['peak_mb'], 1e-9):.2f}" if cf else "-"
        print(f"| {row['mp']:.2f} | {row['method']} | {row['seconds']:.2f} | {row['seconds'] / row['mp']:.2f} | "
              f"{row['peak_mb']:.0f} | {row['f_error']:.2f} | {speed} | {memory} |")


if __name__ == "__main__":
    main()
