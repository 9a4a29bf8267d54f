"""What `predict --tile` changes, against the untiled full-resolution prediction (run by hand).

    python tests/bench/tiles.py [--checkpoint CKPT.pt] [--image GT01] [--tiles 256,384]

On an alphamatting.com training image (``../shared/data``, lowres, with its Trimap1), the alpha
predicted whole at full resolution is the reference; against it: tiled at each side (full
resolution in overlapping windows) and scaled down to a quarter of the pixels (what the pixel
budget does without tiles). SAD is sum |difference| / 1000 over the trimap's unknown region, as
the matting evaluation computes it. Without ``--checkpoint`` a seeded random tiny FBA network is
used: it shows how much the windows' lost context moves the output, not which answer is better.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from datagen.imageio import read_alpha, read_image
from training.checkpoint import model_payload, save_checkpoint
from training.config import config_to_dict
from training.inference import PredictOptions, load_network, load_predictor
from training.loops.fba import load_fba_config
from training.models import FBANet

ROOT = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "alphamatting_training_lowres"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint")
    parser.add_argument("--image", default="GT01")
    parser.add_argument("--tiles", default="256,384")
    args = parser.parse_args()
    image = read_image(ROOT / "input_training_lowres" / f"{args.image}.png")
    trimap = read_alpha(ROOT / "trimap_training_lowres" / "Trimap1" / f"{args.image}.png")
    checkpoint = args.checkpoint
    if checkpoint is None:
        cfg = load_fba_config("tiny")
        torch.manual_seed(0)
        checkpoint = "/tmp/tiles-tiny-fba.pt"
        save_checkpoint(checkpoint, model_payload("fba", cfg["model"].to_dict(), FBANet(cfg["model"]), config_to_dict(cfg)))
    h, w = trimap.shape
    unknown = trimap == 128
    whole = load_predictor(checkpoint, device="cpu", max_pixels=h * w).predict_matting(image, trimap)
    print(f"{args.image}: {w}x{h}, {unknown.sum()} unknown pixels, network {'random tiny' if args.checkpoint is None else checkpoint}")
    print("| variant | SAD vs whole | max abs diff |")
    print("|---|---|---|")
    runs = [(f"tile {t}", dict(max_pixels=int(t) ** 2, tile=int(t))) for t in args.tiles.split(",")]
    runs.append(("scaled to 1/4 of the pixels", dict(max_pixels=h * w // 4, tile=0)))
    for name, options in runs:
        predictor = load_network(checkpoint, PredictOptions("cpu", False, (1.0,), options["max_pixels"], options["tile"]))[1]
        alpha = predictor.predict_matting(image, trimap)
        diff = np.abs(alpha - whole)[unknown]
        print(f"| {name} | {diff.sum() / 1000:.2f} | {diff.max():.3f} |")


if __name__ == "__main__":
    main()
