"""Speed of the demo generators (target: < 50 ms per 320x320 object).

Prints the median time per object kind and size, per background (procedural, photo crop), and the same outputs'
PNG encoding time measured in the same run as a baseline (ratio = generate / encode: how the
generator compares with just saving its result). Run: `python tests/bench/demo_assets.py`.
"""

from __future__ import annotations

import time
from statistics import median

import cv2
import numpy as np

from datagen.demo.backgrounds import make_background, make_photo_background
from datagen.demo.objects import OBJECT_KINDS, make_object


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median CPU seconds of one thread (OpenCV is pinned to one thread below): unlike wall time,
    this stays meaningful on a shared, loaded machine."""
    times, out = [], None
    for _ in range(repeats):
        start = time.thread_time()
        out = fn()
        times.append(time.thread_time() - start)
    return median(times), out


def png_seconds(arrays: list[np.ndarray], repeats: int) -> float:
    return timed(lambda: [cv2.imencode(".png", a) for a in arrays], repeats)[0]


def main() -> None:
    cv2.setNumThreads(1)  # one core, as in a worker process of the runner
    make_object(0)  # warm-up (imports, OpenCV initialisation)
    print(f"{'what (median CPU ms)':32s} {'generate':>10s} {'PNG enc':>10s} {'ratio':>6s}")
    for size, repeats in (((320, 320), 15), ((1200, 1700), 3)):
        for kind in OBJECT_KINDS:
            seeds = iter(range(10**6))
            t, obj = timed(lambda: make_object(next(seeds), size, kind=kind), repeats)
            base = png_seconds([obj.fg, obj.alpha], repeats)
            print(f"object {kind:7s} {size[0]}x{size[1]:<14d} {1e3 * t:10.1f} {1e3 * base:10.1f} {t / base:6.2f}")
    make_photo_background(0, (8, 8))  # warm-up: loads the bundled photos once per process
    for name, make in (("background", make_background), ("photo bg", make_photo_background)):
        for size, repeats in (((480, 640), 10), ((1200, 1700), 3)):
            seeds = iter(range(10**6))
            t, image = timed(lambda: make(next(seeds), size), repeats)
            base = png_seconds([image], repeats)
            print(f"{name:10s} {size[0]}x{size[1]:<19d} {1e3 * t:10.1f} {1e3 * base:10.1f} {t / base:6.2f}")


if __name__ == "__main__":
    main()
