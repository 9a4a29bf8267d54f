"""Evaluation speed benchmarks (run by hand, not by pytest).

    python tests/bench/eval_speed.py metrics            # Grad / Conn on a 2 MP matte
    python tests/bench/eval_speed.py noc BENCHMARK_DIR [WORKERS [LIMIT]]
                                                        # 20-click NoC@90 run, random walker, 2 workers

``metrics`` prints medians over repeats for the gradient and connectivity errors next to SAD
(the cheapest metric, measured in the same run as the baseline) and a direct 9x9 2-D
convolution (what the separable filter replaces). ``noc`` times a NoC-only run (stop at
IoU ≥ 0.90, at most 20 clicks) over every image (or the first LIMIT) of a benchmark folder
built by ``datagen build grabcut`` and scales the time to 50 images.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from scipy import ndimage

from timing import median_seconds  # tests/bench/timing.py, beside this script


def bench_metrics() -> None:
    from training.evaluation.metrics import connectivity_error, gradient_error, gradient_kernel, sad

    rng = np.random.default_rng(0)
    h, w = 1200, 1700                                      # 2.04 MP
    gt = ndimage.gaussian_filter(rng.random((h, w)), 6)
    gt = np.clip((gt - gt.mean()) * 40 + 0.5, 0, 1)
    gt = (gt * 255).round().astype(np.uint8)
    pred = np.clip(gt.astype(int) + rng.integers(-25, 26, (h, w)), 0, 255).astype(np.uint8)
    tri = np.where((gt > 0) & (gt < 255), 128, gt).astype(np.uint8)
    t_sad = median_seconds(lambda: sad(pred, gt, tri), 5)
    t_grad = median_seconds(lambda: gradient_error(pred, gt, tri), 5)
    t_conn = median_seconds(lambda: connectivity_error(pred, gt, tri), 5)
    hx = gradient_kernel()
    a = gt / 255.0
    t_direct = median_seconds(lambda: (ndimage.convolve(a, hx, mode="nearest"), ndimage.convolve(a, hx.T, mode="nearest")), 3)
    print(f"matte {h}x{w} = {h * w / 1e6:.2f} MP, unknown {np.mean(tri == 128):.0%}")
    print(f"sad             median {t_sad * 1e3:8.1f} ms")
    print(f"gradient_error  median {t_grad * 1e3:8.1f} ms  ({t_grad / t_sad:.0f}x sad; target < 500 ms)")
    print(f"connectivity    median {t_conn * 1e3:8.1f} ms  ({t_conn / t_sad:.0f}x sad; target < 500 ms)")
    print(f"direct 9x9 2-D convolution of one matte, both directions: {t_direct * 1e3:.1f} ms "
          f"(x2 mattes = {2 * t_direct * 1e3:.0f} ms, vs separable inside gradient_error)")


def bench_noc(benchmark: str, workers: int = 2, limit: int | None = None) -> None:
    from datagen.runner import Execution, shared_cluster
    from training.evaluation.aggregate import aggregate_iseg
    from training.evaluation.fanout import evaluate_benchmark
    from training.evaluation.sample_loops import IsegConfig

    config = IsegConfig(robot="R", max_clicks=20, target=0.90)
    t0 = time.perf_counter()
    with shared_cluster(workers, None) as address:
        startup = time.perf_counter() - t0
        run = evaluate_benchmark("iseg", benchmark, "baseline:random_walker", config=config, limit=limit,
                                 execution=Execution(scheduler=address, progress=False))
        elapsed = time.perf_counter() - t0 - startup
    records = run.records
    agg = aggregate_iseg(records, config)
    n = agg["n_images"]
    clicks = sum(len(r["ious"]) for r in records if "error" not in r)
    print(f"{n} images, {clicks} clicks, {workers} workers: cluster start {startup:.1f} s + {elapsed:.1f} s "
          f"({elapsed / clicks * 1e3:.0f} ms per click wall, model {agg['model_seconds_per_click'] * 1e3:.0f} ms per click)")
    print(f"scaled to 50 images: {startup + elapsed * 50 / n:.1f} s (the start once, the rest per image; target < 120 s); "
          f"NoC@85 {agg['noc85']:.2f}, NoC@90 {agg['noc90']:.2f}")


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("metrics", "noc"):
        sys.exit(__doc__)
    if sys.argv[1] == "metrics":
        bench_metrics()
    else:
        bench_noc(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 2,
                  int(sys.argv[4]) if len(sys.argv) > 4 else None)
