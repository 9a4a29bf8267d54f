"""Benchmark foreground re-estimation: seconds per image and peak memory, side by side.

    python tests/bench/refit.py                    # 0.25, 1 and 4 MP, all four methods
    python tests/bench/refit.py --sizes 1 --methods levin,cf --repeats 1   # first calls only
    python tests/bench/refit.py --sizes "" --whole 2,20   # only the whole-command rows

Methods: our `levin` (solveFB energy, margin 0, CG preconditioned by a grid multigrid V-cycle,
on every core) and `multilevel` (Germer et al., numba), pymatting's `estimate_foreground_cf` and
`estimate_foreground_ml`. Every (method, size) runs in a fresh subprocess so peak memory is its
own: the kernel's peak-RSS mark is reset before each call and the peak above the RSS just
before is reported. Compilation (pymatting's numba, our cache loads) is paid in a warm-up call
on a tiny object before timing; then `--repeats` calls, median printed. Inputs are demo objects
(exact F known), so the F error in alpha > 0 (0..255 scale) is printed beside the speed. Ratios
are against pymatting cf measured in the same run; machines are noisy, so compare ratios, not
seconds.

Whole command (`--whole N,...`): `datagen refit-foregrounds` as a user runs it (a fresh process:
interpreter and imports, numba cache loads, reading, solving, spill scores, uint16 shards,
report) on the first N alphamatting.com low-resolution training objects (real alphas, about
800x550; imported with `datagen import objects`), after one warm-up run, against the bare
functions (levin and pymatting cf, warm, in one process, on the same arrays, summed over the
objects). Rounds interleave the command and the bare calls, so load from other processes hits
both alike; medians of `--repeats` rounds. The fixed cost (the whole command on one 32x32 object)
is printed first: "cf / (fixed cost + bare levin)" is the best the command could reach with no
per-object overhead at all. CPU seconds (every thread's user + system time) are
printed beside the wall clock: on a shared machine a process's wall time is mostly its wait
for a core, which the CPU time leaves out.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from datagen.foreground.solvers import SOLVERS, solver

METHODS = (*SOLVERS, "cf", "ml")
LOWRES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "alphamatting_training_lowres"


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
    if method in SOLVERS:
        function = solver(method).function()
        return lambda image, alpha: function(image, alpha)[0]
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


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _datagen(*args: str) -> tuple[float, float]:
    """Run `datagen ARGS` in a fresh process; its wall and CPU seconds (CPU: every thread's,
    which on a loaded machine says what the command costs better than the wall clock, whose
    share of the cores depends on everyone else's processes)."""
    start, cpu = time.perf_counter(), _children_cpu()
    subprocess.run([sys.executable, "-m", "datagen.cli", *args], check=True, capture_output=True)
    return time.perf_counter() - start, _children_cpu() - cpu


def _import_objects(root: Path) -> Path:
    """`datagen import objects` of the pairs in root/fg and root/alpha, into root/objects."""
    _datagen("import", "objects", "--fg", str(root / "fg"), "--alpha", str(root / "alpha"),
             "--out", str(root / "objects"), "--no-progress")
    return root / "objects"


def _lowres_objects(root: Path, count: int) -> Path:
    """An `objects` dataset of the first `count` low-resolution training objects, under `root`."""
    for name, source in (("fg", "input_training_lowres"), ("alpha", "gt_training_lowres")):
        (root / name).mkdir(parents=True)
        for path in sorted((LOWRES / source).glob("*.png"))[:count]:
            (root / name / path.name).symlink_to(path)
    return _import_objects(root)


def _bare_child(dataset: str) -> dict:
    """Wall and CPU seconds of the bare levin and cf calls over every object of `dataset`, warm,
    summed (keys `levin`, `cf`, `levin_cpu`, `cf_cpu`)."""
    from pymatting import estimate_foreground_cf

    from datagen.compose.convert import to_unit_float
    from datagen.shards import open_dataset

    ds = open_dataset(dataset)
    arrays = [(to_unit_float(s["fg"]), to_unit_float(s["alpha"]))
              for s in (ds.read(i, fields=("fg", "alpha")) for i in range(len(ds)))]
    levin = solver("levin").function()
    functions = {"levin": levin, "cf": lambda image, alpha: estimate_foreground_cf(image, alpha, return_background=True)}
    seconds = {key: 0.0 for name in functions for key in (name, f"{name}_cpu")}
    for name, function in functions.items():
        function(*arrays[0])  # imports, compilation or cache loads, first-touch memory
    for image, alpha in arrays:
        for name, function in functions.items():
            start, cpu = time.perf_counter(), time.process_time()
            function(image, alpha)
            seconds[name] += time.perf_counter() - start
            seconds[f"{name}_cpu"] += time.process_time() - cpu
    return seconds


def _tiny_objects(root: Path) -> Path:
    """An `objects` dataset of one 32x32 demo object: the command's fixed cost, almost no solving."""
    from datagen.demo.objects import make_object
    from datagen.imageio import write_png

    obj = make_object(1, (32, 32), kind="fur")
    for name, array in (("fg", obj.fg), ("alpha", obj.alpha)):
        (root / name).mkdir(parents=True)
        write_png(root / name / "tiny.png", array)
    return _import_objects(root)


def fixed_cost(repeats: int) -> float:
    """Median wall seconds of the whole command on one 32x32 object (after a warm-up run): what a
    fresh process costs before any real work (interpreter, imports, numba's cache loads and its
    typing registries, the dataset's files). Against it, a 4x target on work that cf does in T
    seconds needs the whole command under T / 4."""
    with tempfile.TemporaryDirectory() as tmp:
        dataset = _tiny_objects(Path(tmp))
        runs = [_datagen("refit-foregrounds", str(dataset), "--out", str(Path(tmp) / f"out-{i}"), "--no-progress")[0]
                for i in range(repeats + 1)]
    seconds = statistics.median(runs[1:])
    print(f"  fixed cost (one 32x32 object): {seconds:.2f} s (runs: {', '.join(f'{r:.2f}' for r in runs[1:])})",
          flush=True)
    return seconds


def whole_command_rows(counts: list[int], repeats: int) -> list[dict]:
    """Per object count: median seconds of the whole command and of the bare levin / cf calls."""
    rows = []
    floor = fixed_cost(repeats) if counts else 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for count in counts:
            root = Path(tmp) / str(count)
            dataset = _lowres_objects(root, count)
            refit = lambda out: _datagen("refit-foregrounds", str(dataset), "--out", str(root / out), "--no-progress")  # noqa: E731
            refit("warm-up")
            whole, bare = [], []
            for round_ in range(repeats):
                whole.append(refit(f"out-{round_}"))
                done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--bare-child", str(dataset)],
                                      capture_output=True, text=True, check=True)
                bare.append(json.loads(done.stdout.strip().splitlines()[-1]))
            row = {"objects": count, "fixed": floor, "whole": statistics.median(w for w, _ in whole),
                   "whole_cpu": statistics.median(c for _, c in whole), "load": open("/proc/loadavg").read().split()[0],
                   **{key: statistics.median(b[key] for b in bare) for key in bare[0]}}
            print(f"  {count} objects: whole {row['whole']:.2f} s, bare levin {row['levin']:.2f} s, "
                  f"bare cf {row['cf']:.2f} s (rounds: whole {', '.join(f'{w:.2f}' for w, _ in whole)}; CPU s: whole "
                  f"{row['whole_cpu']:.2f}, levin {row['levin_cpu']:.2f}, cf {row['cf_cpu']:.2f}; load {row['load']})",
                  flush=True)
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0.25,1,4", help="megapixels, comma separated")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed calls per (method, size) after the warm-up; the median is printed")
    parser.add_argument("--whole", default="2,20",
                        help="object counts for the whole-command rows, comma separated ('' for none)")
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "MP", "REPEATS"), help=argparse.SUPPRESS)
    parser.add_argument("--bare-child", metavar="DATASET", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], float(args.child[1]), int(args.child[2]))))
        return
    if args.bare_child:
        print(json.dumps(_bare_child(args.bare_child)))
        return
    rows = []
    for size in filter(None, args.sizes.split(",")):
        for method in args.methods.split(","):
            done = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child", method, size, str(args.repeats)],
                capture_output=True, text=True, check=True,
            )
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"  {method:<10} {row['mp']:5.2f} MP  {row['seconds']:7.2f} s  "
                  f"peak +{row['peak_mb']:7.0f} MB  F err {row['f_error']:.2f}", flush=True)
    whole = whole_command_rows([int(n) for n in args.whole.split(",") if n], args.repeats)
    if rows:
        _print_size_table(rows)
    if whole:
        print("\n| objects (alphamatting lowres) | whole command s | bare levin s | bare cf s | cf / whole command "
              "| cf / bare levin | fixed cost s | cf / (fixed cost + bare levin) | CPU s: whole / levin / cf "
              "| cf / whole, CPU | load |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for row in whole:
            print(f"| {row['objects']} | {row['whole']:.2f} | {row['levin']:.2f} | {row['cf']:.2f} | "
                  f"{row['cf'] / row['whole']:.1f}x | {row['cf'] / row['levin']:.1f}x | {row['fixed']:.2f} | "
                  f"{row['cf'] / (row['fixed'] + row['levin']):.1f}x | {row['whole_cpu']:.2f} / "
                  f"{row['levin_cpu']:.2f} / {row['cf_cpu']:.2f} | {row['cf_cpu'] / row['whole_cpu']:.1f}x | {row['load']} |")


def _print_size_table(rows: list[dict]) -> None:
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
