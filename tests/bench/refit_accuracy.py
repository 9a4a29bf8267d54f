"""Foreground accuracy of the refit methods on demo objects of every kind, with exact F.

    python tests/bench/refit_accuracy.py                      # 0.1 and 1 MP, one seed per kind
    python tests/bench/refit_accuracy.py --sizes 4 --seeds 2  # slow: pymatting cf takes ~35 s per object
    python tests/bench/refit_accuracy.py --sizes "" --lowres 20   # real alphas, known F (~3 min)

`tests/bench/refit.py` times the methods on one fur object; this prints, per size, the mean
absolute F error where alpha > 0 (0..255 scale) of every method on every kind, their mean, and
on how many objects levin is no worse than pymatting's `estimate_foreground_cf`. The input is
each object's `fg` layer (colours mixed with the background where alpha < 1, as matting sets
ship them), the truth its exact F. `F = I` is the error of keeping that layer as it is.

`--lowres N`: the first N alphamatting.com low-resolution training objects (real alphas, about
800x550) with a known F: the object's photograph is F, another object's photograph (resized)
is B, and the input their composite through the real alpha. Printed per object: the F error in
0 < alpha < 1 (0..255) of levin at its default tolerance, of the exact minimiser of its energy
(CG to 1e-10; the solver is tested against a direct solve), and of pymatting cf; and how far
levin's default stops from the exact minimiser, in the band and over the whole image. This is
what sets levin's default tolerance (docs/foreground.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from datagen.demo.objects import OBJECT_KINDS, make_object
from refit import LOWRES, METHODS, estimator  # the sibling benchmark script: the same four methods


def lowres_scenes(count: int):
    """(name, image, alpha, F) of the first `count` low-resolution objects, composited over the
    photograph of the object 7 places on (resized), so that F is known."""
    from datagen import imageio
    from datagen.compose.convert import to_unit_float

    photos = sorted((LOWRES / "input_training_lowres").glob("*.png"))
    alphas = sorted((LOWRES / "gt_training_lowres").glob("*.png"))
    for i in range(min(count, len(photos))):
        foreground = to_unit_float(imageio.read_image(photos[i]))
        alpha = to_unit_float(imageio.read_alpha(alphas[i]))
        other = to_unit_float(imageio.read_image(photos[(i + 7) % len(photos)]))
        background = cv2.resize(other, alpha.shape[::-1], interpolation=cv2.INTER_AREA)
        a = alpha[..., None]
        yield Path(photos[i]).stem, a * foreground + (1 - a) * background, alpha, foreground


def lowres_table(count: int) -> None:
    from datagen.foreground.levin import estimate_fb_levin

    cf = estimator("cf")
    print("\nalphamatting lowres, real alphas over another photograph, F known: error in 0 < alpha < 1, 0..255")
    print("| object | levin | levin exact | cf | levin - exact, band | levin - exact, whole image | iterations |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for name, image, alpha, truth in lowres_scenes(count):
        band = (alpha > 0) & (alpha < 1)
        ours, _, info = estimate_fb_levin(image, alpha)
        exact = estimate_fb_levin(image, alpha, tol=1e-10, max_iter=1000)[0]
        error = lambda estimate, where=band: 255 * float(np.abs(estimate - truth)[where].mean())  # noqa: E731
        row = (error(ours), error(exact), error(cf(image, alpha)), 255 * float(np.abs(ours - exact)[band].mean()),
               255 * float(np.abs(ours - exact).mean()), info["iterations"])
        rows.append(row)
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in row[:5]) + f" | {row[5]} |", flush=True)
    means = np.mean(rows, axis=0)
    print("| mean | " + " | ".join(f"{v:.3f}" for v in means[:5]) + f" | {means[5]:.1f} |")
    print(f"levin no worse than cf on {sum(r[0] <= r[2] for r in rows)} of {len(rows)} objects; "
          f"largest levin - exact in the band {max(r[3] for r in rows):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0.1,1", help="megapixels, comma-separated")
    parser.add_argument("--seeds", type=int, default=1, help="objects per kind")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--lowres", type=int, default=0, help="also the known-F table on this many real objects")
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    estimators = {method: estimator(method) for method in methods} | {"F = I": lambda image, alpha: image}
    methods.append("F = I")
    for megapixels in (float(s) for s in args.sizes.split(",") if s):
        side = int(round((megapixels * 1e6) ** 0.5))
        errors = {m: [] for m in methods}
        for kind in OBJECT_KINDS:
            for seed in range(args.seeds):
                obj = make_object(seed, (side, side), kind=kind)
                image, alpha = obj.fg / 255.0, obj.alpha / 255.0
                inside = alpha > 0
                for method in methods:
                    estimate = estimators[method](image, alpha)
                    errors[method].append(255 * float(np.abs(estimate - obj.F)[inside].mean()))
        labels = [f"{kind} {seed}" for kind in OBJECT_KINDS for seed in range(args.seeds)]
        print(f"\n{megapixels:g} MP ({side}x{side}): F error where alpha > 0, 0..255")
        print("| method | " + " | ".join(labels) + " | mean |")
        print("|---" * (len(labels) + 2) + "|")
        for method in methods:
            row = " | ".join(f"{e:.2f}" for e in errors[method])
            print(f"| {method} | {row} | {np.mean(errors[method]):.2f} |")
        if "levin" in errors and "cf" in errors:
            wins = sum(ours <= theirs for ours, theirs in zip(errors["levin"], errors["cf"]))
            print(f"levin no worse than cf on {wins} of {len(labels)} objects")
    if args.lowres:
        lowres_table(args.lowres)


if __name__ == "__main__":
    main()
