"""Acceptance of issue 17 (slow): a tiny interactive segmentation model trained on CPU for a fixed
budget on demo synth-seg data beats its untrained self and the random-walker baseline on held-out
demo samples in mIoU after 5 protocol-L robot clicks, and its mIoU rises with clicks (printed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fba_training_data import demo_seg
from typer.testing import CliRunner

from datagen.shards import open_dataset
from training.cli import app
from training.evaluation.baselines import make_baseline
from training.evaluation.metrics import gt_from_benchmark
from training.evaluation.sample_loops import IsegConfig, run_iseg_sample
from training.inference import load_predictor
from training.inference.iseg import IsegPredictor
from training.loops.iseg import load_iseg_config
from training.models.iseg import IsegNet

SIZE = 48               # the side of training crops (the tiny config's) and held-out samples alike
CLICKS = 5
"""The fixed budget: the tiny config as shipped (48 px, 4 epochs, lr x0.1 for the last) on 96
images: 384 click-by-click steps, under a minute on one free core."""


def _miou_per_click(model, held) -> np.ndarray:
    """mIoU after each of the robot's clicks (protocol L, the one the network trains with)."""
    config = IsegConfig(robot="L", max_clicks=CLICKS)
    records = [run_iseg_sample(model, s["image"], gt_from_benchmark(s["mask"]), config) for s in held]
    return np.mean([r["ious"] for r in records], axis=0)


@pytest.mark.slow
def test_tiny_model_beats_its_untrained_self_and_the_random_walker(tmp_path, one_thread):
    train = demo_seg(tmp_path / "train", n=96, n_objects=24, size=SIZE, seed=0)["seg"]
    held = list(open_dataset(demo_seg(tmp_path / "held", n=48, n_objects=12, size=SIZE, seed=99)["seg"]))   # objects never trained on
    result = CliRunner().invoke(app, ["fit", "iseg", "--config", "tiny", "--data", str(train), "--out",
                                      str(tmp_path / "run"), "--device", "cpu", "--no-progress"])
    assert result.exit_code == 0 and "384/384 steps" in result.output, result.output
    config = load_iseg_config("tiny")
    torch.manual_seed(config["train"].seed)   # the run's own initial weights (fit_iseg seeds the same way)
    untrained = IsegPredictor(IsegNet(config["model"]), torch.device("cpu"))
    curves = {"trained": _miou_per_click(load_predictor(tmp_path / "run" / "last.pt", device="cpu"), held),
              "untrained": _miou_per_click(untrained, held),
              "baseline:random_walker": _miou_per_click(make_baseline("random_walker"), held)}
    print(f"mIoU per click (1..{CLICKS}), {len(held)} held-out demo samples, protocol L:")
    for name, curve in curves.items():
        print(f"  {name:<24}" + " ".join(f"{v:.3f}" for v in curve))
    trained = curves["trained"]
    assert trained[-1] > curves["untrained"][-1], curves
    assert trained[-1] > curves["baseline:random_walker"][-1], curves
    assert trained[-1] > trained[0], curves
