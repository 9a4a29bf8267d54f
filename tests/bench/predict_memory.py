"""Peak memory of `training predict` on very large images (run by hand, not by pytest).

    python tests/bench/predict_memory.py                 # 24 MP and 100 MP, default --max-megapixels
    python tests/bench/predict_memory.py --sizes 24 --budget 1

Each run is a fresh `training predict` process on a synthetic photo and trimap of the given size
(smooth gradients and noise, saved as PNG first), with a tiny FBA checkpoint (random weights: the
network's cost at the working size is the same for any weights). The peak resident memory of the
process (`ru_maxrss` of the child) is what `--max-megapixels` should bound; the table also gives
the bytes per input pixel, so a user can size a machine.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _write_inputs(folder: Path, megapixels: float) -> tuple[Path, Path]:
    from datagen.imageio import write_png

    side_w = int(round((megapixels * 1e6 * 3 / 2) ** 0.5))
    side_h = int(round(megapixels * 1e6 / side_w))
    rng = np.random.default_rng(0)
    xx = np.linspace(0, 255, side_w, dtype=np.float32)[None, :]
    yy = np.linspace(0, 255, side_h, dtype=np.float32)[:, None]
    image = np.empty((side_h, side_w, 3), np.uint8)
    image[..., 0] = (xx + 0 * yy).astype(np.uint8)
    image[..., 1] = (yy + 0 * xx).astype(np.uint8)
    image[..., 2] = rng.integers(0, 256, (side_h, side_w), dtype=np.uint8)
    trimap = np.full((side_h, side_w), 128, np.uint8)
    trimap[:, : side_w // 3] = 0
    trimap[:, 2 * side_w // 3:] = 255
    write_png(folder / "image.png", image)
    write_png(folder / "trimap.png", trimap)
    return folder / "image.png", folder / "trimap.png"


def _checkpoint(folder: Path) -> Path:
    from training.checkpoint import model_payload, save_checkpoint
    from training.config import config_to_dict
    from training.loops.fba import load_fba_config
    from training.models import FBANet

    cfg = load_fba_config("tiny")
    torch.manual_seed(0)
    return save_checkpoint(folder / "tiny.pt", model_payload("fba", cfg["model"].to_dict(), FBANet(cfg["model"]),
                                                            config_to_dict(cfg)))


def _peak(command: list[str]) -> tuple[float, float, int]:
    """(peak RSS in GB, seconds, exit code) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: run the sizes in increasing order
    return max(peak_kb, before) / 1e6, seconds, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="24,100", help="Input sizes in megapixels, comma-separated, increasing.")
    parser.add_argument("--budget", type=float, default=4.2, help="--max-megapixels for the network.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        checkpoint = _checkpoint(root)
        print(f"| input | --max-megapixels | peak RSS | bytes / input pixel | seconds |")
        print("|---|---|---|---|---|")
        for mp in (float(s) for s in args.sizes.split(",")):
            folder = root / f"{mp:g}mp"
            folder.mkdir()
            image, trimap = _write_inputs(folder, mp)
            command = [sys.executable, "-m", "training.cli", "predict", "--model", str(checkpoint), "--image", str(image),
                       "--trimap", str(trimap), "--out", str(folder / "out"), "--device", "cpu",
                       "--max-megapixels", str(args.budget), "--max-input-megapixels", str(max(100.0, mp))]
            gb, seconds, code = _peak(command)
            status = "" if code == 0 else f" (exit {code})"
            print(f"| {mp:g} MP | {args.budget:g} | {gb:.2f} GB{status} | {gb * 1e9 / (mp * 1e6):.0f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
