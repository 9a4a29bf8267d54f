"""Foreground accuracy of the refit methods on demo objects of every kind, with exact F.

    python tests/bench/refit_accuracy.py                      # 0.1 and 1 MP, one seed per kind
    python tests/bench/refit_accuracy.py --sizes 4 --seeds 2  # slow: pymatting cf takes ~35 s per object

`tests/bench/refit.py` times the methods on one fur object; this prints, per size, the mean
absolute F error where alpha > 0 (0..255 scale) of every method on every kind, their mean, and
on how many objects levin is no worse than pymatting's `estimate_foreground_cf`. The input is
each object's `fg` layer (colours mixed with the background where alpha < 1, as matting sets
ship them), the truth its exact F. `F = I` is the error of keeping that layer as it is.
"""

from __future__ import annotations

import argparse

import numpy as np

from datagen.demo.objects import OBJECT_KINDS, make_object
from refit import METHODS, estimator  # the sibling benchmark script: the same four methods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0.1,1", help="megapixels, comma-separated")
    parser.add_argument("--seeds", type=int, default=1, help="objects per kind")
    parser.add_argument("--methods", default=",".join(METHODS))
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    estimators = {method: estimator(method) for method in methods} | {"F = I": lambda image, alpha: image}
    methods.append("F = I")
    for megapixels in (float(s) for s in args.sizes.split(",")):
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


if __name__ == "__main__":
    main()
