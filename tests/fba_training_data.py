"""Small datasets for the FBA training tests: demo banks, one real object, a held-out benchmark."""

from __future__ import annotations

import warnings
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from datagen.compose.trimap import trimap_from_alpha
from datagen.demo.banks import background_sample, build_background_bank, build_object_bank, object_sample
from datagen.imageio import read_alpha, read_image, write_png
from datagen.runner import Execution
from datagen.shards.build import write_dataset
from datagen.synth.recipe import SynthParams
from datagen.synth.run import run_synth

ALPHAMATTING = "alphamatting_training_lowres"


def tiny_fba_checkpoint(path: Path) -> Path:
    """An untrained FBA checkpoint of the shipped tiny config, weights seeded with 0."""
    import torch

    from training.checkpoint import model_payload, save_checkpoint
    from training.config import config_to_dict
    from training.loops.fba import load_fba_config
    from training.models import FBANet

    cfg = load_fba_config("tiny")
    torch.manual_seed(0)
    return save_checkpoint(path, model_payload("fba", cfg["model"].to_dict(), FBANet(cfg["model"]), config_to_dict(cfg)))


def demo_banks(root: Path, n_objects: int = 6, size: int = 96, seed: int = 0) -> tuple[Path, Path]:
    """A procedural objects bank and backgrounds bank (kinds cycle, so 6 objects hold them all)."""
    build_object_bank(root / "objects", n=n_objects, size=(size, size), seed=seed, execution=Execution(progress=False))
    build_background_bank(root / "backgrounds", n=6, size=(size, size + 32), seed=seed, execution=Execution(progress=False))
    return root / "objects", root / "backgrounds"



def demo_seg(root: Path, n: int = 16, n_objects: int = 6, size: int = 96, seed: int = 0) -> dict[str, Path]:
    """Demo banks (``root/objects``, ``root/backgrounds``) and ``n`` demo synth-seg samples of
    ``size`` px made from them (``root/seg``): the training data of the iseg and imatting tests."""
    objects, backgrounds = demo_banks(root, n_objects=n_objects, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # the demo bank has no fg_full; irrelevant for masks
        run_synth("seg", objects, backgrounds, root / "seg", n, seed=seed, params=SynthParams(size=size),
                  execution=Execution(progress=False))
    return {"objects": objects, "backgrounds": backgrounds, "seg": root / "seg"}

def real_predict_files(shared_data: Path, root: Path) -> tuple[Path, Path]:
    """``image.png`` and ``trimap.png`` in ``root``: GT01 at 150 x 93, a size that is not a
    multiple of 8, as the predict tests give it on the command line."""
    image, _, trimap = real_image(shared_data, width=150)
    write_png(root / "image.png", image)
    write_png(root / "trimap.png", trimap)
    return root / "image.png", root / "trimap.png"


def real_image(shared_data: Path, name: str = "GT01", width: int = 160) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, alpha, trimap) of an alphamatting.com training image, resized to ``width`` px."""
    root = shared_data / ALPHAMATTING
    image = read_image(root / "input_training_lowres" / f"{name}.png")
    alpha = read_alpha(root / "gt_training_lowres" / f"{name}.png")
    trimap = read_alpha(root / "trimap_training_lowres" / "Trimap1" / f"{name}.png")
    h = round(image.shape[0] * width / image.shape[1])
    return (cv2.resize(image, (width, h), interpolation=cv2.INTER_AREA),
            cv2.resize(alpha, (width, h), interpolation=cv2.INTER_AREA),
            cv2.resize(trimap, (width, h), interpolation=cv2.INTER_NEAREST))


def _real_object(_: int, image: np.ndarray, alpha: np.ndarray) -> dict:
    return {"id": "real_0000", "fg": image, "alpha": alpha, "recipe": {"source": ALPHAMATTING}}


def real_object_bank(root: Path, shared_data: Path, width: int = 160) -> Path:
    """One real object (the photo as its foreground colour: fine for fitting one sample)."""
    image, alpha, _ = real_image(shared_data, width=width)
    write_dataset(root / "real", "objects", [0], partial(_real_object, image=image, alpha=alpha),
                  execution=Execution(progress=False))
    return root / "real"


def _benchmark_sample(i: int, seed: int, size: int) -> dict:
    obj = object_sample(i, seed=seed, size=(size, size))
    bg = background_sample(i, seed=seed, size=(size, size))["image"].astype(np.float32)
    a = obj["alpha"].astype(np.float32)[..., None] / np.iinfo(obj["alpha"].dtype).max
    image = np.rint(a * obj["fg"].astype(np.float32) + (1 - a) * bg).astype(np.uint8)
    alpha8 = np.rint(a[..., 0] * 255).astype(np.uint8)
    return {"id": f"held_out_{i:02d}", "image": image, "alpha": alpha8, "trimap": trimap_from_alpha(alpha8, 4)}


def held_out_benchmark(root: Path, n: int = 6, seed: int = 99, size: int = 72) -> Path:
    """Demo objects of another seed (never trained on) over demo backgrounds, benchmark trimaps."""
    write_dataset(root / "held_out", "benchmark", list(range(n)), partial(_benchmark_sample, seed=seed, size=size),
                  execution=Execution(progress=False))
    return root / "held_out"
