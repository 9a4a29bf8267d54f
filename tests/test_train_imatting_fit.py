"""`training fit imatting` end to end on demo data: it runs from an FBA checkpoint, resumes bit for
bit, predicts from clicks and scribbles, evaluates through Interactive Composition-100's protocol,
refuses bad input in one line, and (slow) learns: after a fixed CPU budget it beats the tiny FBA
model it started from and the closed-form scribble baseline in whole-image SAD after 5 robot clicks."""

from __future__ import annotations

import csv
import json
import time

import numpy as np
import pytest
import torch
from ddp_check import ddp_weight_gaps
from fba_training_data import demo_seg, held_out_benchmark
from typer.testing import CliRunner

from datagen.imageio import read_alpha, write_png
from datagen.shards import open_dataset
from training.checkpoint import load_checkpoint, model_payload, save_checkpoint
from training.cli import app
from training.config import config_to_dict
from training.evaluation.baselines import make_baseline
from training.evaluation.sample_loops import run_imatting_sample
from training.inference import load_predictor
from training.inference.imatting import ImattingPredictor
from training.loops.fba import load_fba_config
from training.loops.imatting import load_imatting_config
from training.models import FBANet


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Demo banks, demo seg shards (Task 1), a held-out benchmark and an untrained tiny FBA checkpoint."""
    root = tmp_path_factory.mktemp("imatting")
    cfg = load_fba_config("tiny")
    torch.manual_seed(0)
    save_checkpoint(root / "fba.pt", model_payload("fba", cfg["model"].to_dict(), FBANet(cfg["model"]),
                                                   config_to_dict(cfg)))
    return {**demo_seg(root), "fba": root / "fba.pt", "bench": held_out_benchmark(root), "root": root}


def _fit(data, out, *extra, init=None):
    args = ["fit", "imatting", "--config", "tiny", "--objects", str(data["objects"]), "--backgrounds",
            str(data["backgrounds"]), "--data", str(data["seg"]), "--init", str(init or data["fba"]),
            "--out", str(out), "--no-progress", *extra]
    return CliRunner().invoke(app, args)


def test_fit_from_fba_logs_tasks_and_resumes_bit_for_bit(data, tmp_path, one_thread):
    small = ["--set", "schedule.seg_images=2", "--set", "schedule.imatting_images=2", "--set",
             "schedule.trimap_images=2", "--set", "train.log_steps=1"]
    straight = _fit(data, tmp_path / "a", *small, "--max-steps", "7")
    assert straight.exit_code == 0, straight.output
    assert "88 tensors loaded unchanged, 1 adapted" in straight.output
    assert "7/24 steps" in straight.output                 # (2 + 2 + 2) images x 4 epochs
    with open(tmp_path / "a" / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["task"]) for r in rows] == [1, 1, 2, 2, 3, 3, 1]
    assert [int(r["updates"]) for r in rows][:2] == [4, 4] and [int(r["updates"]) for r in rows][4:6] == [1, 1]
    assert all(2 <= int(r["updates"]) <= 5 for r in rows[2:4])          # 5-8 clicks, updates from the 4th
    first = _fit(data, tmp_path / "b", *small, "--max-steps", "3")
    resumed = _fit(data, tmp_path / "b", *small, "--max-steps", "7", "--resume")
    assert first.exit_code == 0 and resumed.exit_code == 0, resumed.output
    a, b = (load_checkpoint(tmp_path / run / "last.pt", "imatting") for run in ("a", "b"))
    assert a["position"] == b["position"]
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key


def test_predict_from_clicks_and_scribbles_and_evaluate(data, tmp_path, one_thread):
    run = tmp_path / "run"
    assert _fit(data, run, "--max-steps", "2").exit_code == 0
    sample = open_dataset(data["bench"])[0]
    write_png(tmp_path / "image.png", sample["image"])
    (tmp_path / "clicks.json").write_text(json.dumps([[36, 36, True], [2, 2, False]]))
    runner = CliRunner()
    ckpt = str(run / "last.pt")
    result = runner.invoke(app, ["predict", "--model", ckpt, "--image", str(tmp_path / "image.png"),
                                 "--clicks", str(tmp_path / "clicks.json"), "--out", str(tmp_path / "clicks")])
    assert result.exit_code == 0, result.output
    alpha = read_alpha(tmp_path / "clicks" / "alpha.png")
    assert alpha[36, 36] == 255 and alpha[2, 2] == 0             # the user's clicks are definite
    fg, bg = np.zeros((72, 72), np.uint8), np.zeros((72, 72), np.uint8)
    fg[30:40, 36] = 255
    bg[0, :] = 255
    write_png(tmp_path / "fg.png", fg)
    write_png(tmp_path / "bg.png", bg)
    result = runner.invoke(app, ["predict", "--model", ckpt, "--image", str(tmp_path / "image.png"), "--scribbles-fg",
                                 str(tmp_path / "fg.png"), "--scribbles-bg", str(tmp_path / "bg.png"),
                                 "--out", str(tmp_path / "scribbles")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "scribbles").iterdir()) == ["alpha.png", "bg.png", "composite.png",
                                                                          "fg.png"]
    alpha = read_alpha(tmp_path / "scribbles" / "alpha.png")
    assert (alpha[30:40, 36] == 255).all() and (alpha[0] == 0).all()
    result = runner.invoke(app, ["evaluate", "imatting", "--benchmark", str(data["bench"]), "--model", ckpt,
                                 "--out", str(tmp_path / "report"), "--clicks", "3", "--limit", "2", "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report" / "results.json").read_text())
    assert len(report["samples"]) == 2 and len(report["samples"][0]["per_click"]["sad"]) == 3
    assert "ImattingPredictor" in report["settings"]["model_params"]


def test_bad_input_is_one_clear_line(data, tmp_path):
    cfg = load_fba_config("tiny")
    save_checkpoint(tmp_path / "iseg.pt", model_payload("iseg", cfg["model"].to_dict(), FBANet(cfg["model"]), {}))
    result = _fit(data, tmp_path / "run", "--max-steps", "1", init=tmp_path / "iseg.pt")
    assert result.exit_code != 0 and "holds a 'iseg' network, not 'fba'" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["fit", "imatting", "--config", "tiny", "--objects", str(data["objects"]),
                                      "--backgrounds", str(data["backgrounds"]), "--data", str(data["objects"]),
                                      "--out", str(tmp_path / "r2"), "--no-progress"])
    assert result.exit_code != 0 and "segmentation data" in result.output and "'objects'" in result.output
    (tmp_path / "clicks.json").write_text("[[1, 2]]")
    write_png(tmp_path / "image.png", np.zeros((16, 16, 3), np.uint8))
    icfg = load_imatting_config("tiny")      # an FBA checkpoint refuses --clicks before reading the file
    save_checkpoint(tmp_path / "imatting.pt", model_payload("imatting", icfg["model"].to_dict(), FBANet(icfg["model"]),
                                                            config_to_dict(icfg)))
    result = CliRunner().invoke(app, ["predict", "--model", str(tmp_path / "imatting.pt"), "--image", str(tmp_path / "image.png"),
                                      "--clicks", str(tmp_path / "clicks.json"), "--out", str(tmp_path / "p")])
    assert result.exit_code != 0 and "expected a non-empty list of [y, x, is_positive]" in result.output


def _ddp_args(data, out, batch):
    return ["fit", "imatting", "--config", "tiny", "--objects", str(data["objects"]), "--backgrounds",
            str(data["backgrounds"]), "--data", str(data["seg"]), "--init", str(data["fba"]), "--out", str(out),
            "--no-progress", "--max-steps", "1", "--device", "cpu", "--set", f"train.batch_size={batch}",
            "--set", 'schedule.order=["imatting"]', "--set", "schedule.imatting_clicks=[4, 4]"]


@pytest.mark.slow
def test_two_gloo_ranks_match_one_process_on_the_same_images(data, tmp_path):
    """One Task 2 step (3 clicks without, then one with an update): two ranks at batch 1 make the
    update one process makes at batch 2, clicks placed per image on each rank."""
    moved, other = ddp_weight_gaps(tmp_path, "imatting", lambda out, batch: _ddp_args(data, out, batch))
    assert moved < 1e-6, moved
    assert other > 1e-4, other


def _sad_after_clicks(model, bench, clicks=5) -> float:
    """Mean over the benchmark of the whole-image SAD after ``clicks`` matting-robot clicks."""
    records = [run_imatting_sample(model, bench[i]["image"], bench[i]["alpha"], clicks) for i in range(len(bench))]
    return float(np.mean([r["per_click"]["sad"][-1] for r in records]))


HELD_OUT = 24
"""Held-out samples of the learning test: with 6, one sample moved the mean by more than the gap
between the models (per-sample SADs range 0.2-1.3)."""
LEARNING_OBJECTS = 24
"""Demo objects the learning run trains on: with the 6 of the other tests the click model overfits
them (at 192 steps it lost to its FBA start for seed 1: SAD 0.93 vs 0.88)."""
TINY_SIGMAS = "data.distance_sigmas=[1.28,5.12,10.24]"
"""The thesis's 6.4 / 25.6 / 51.2 px are 0.02 / 0.08 / 0.16 of its 320 px crop; at 64-72 px the two
larger maps are flat over the whole image, so the learning run scales them by 64/320 (FBA start and
click model alike). Seed 0: SAD 0.56 against 0.59 with the thesis sigmas at the tiny config's crops;
with LEARNING_RECIPE's crops the sigmas hardly matter (0.41 scaled, 0.40 thesis)."""
LEARNING_RECIPE = ["--set", "train.lr=3e-3", "--set", "train.epochs=12", "--set", "train.lr_drop_epochs=[9]",
                   "--set", TINY_SIGMAS, "--set", "data.crop_sizes=[96]", "--set", "data.out_size=72",
                   "--set", "data.second_fg_p=0"]
"""384 interactive steps (12 epochs of the tiny schedule), lr x 0.1 for the last 3 epochs; Tasks 2-3
crop the whole 96 px demo object to 72 px, one object per composite: the scale and content of the
72 px held-out images (seed 0: SAD 0.41, against 0.56 with the tiny config's 96/72/64 -> 64 px crops
and second foregrounds)."""


@pytest.fixture(scope="module")
def learned(tmp_path_factory) -> dict[str, float]:
    """Fixed CPU budget: the tiny FBA config's full 768 steps (at TINY_SIGMAS), then
    LEARNING_RECIPE's interactive steps from it;
    whole-image SAD after 5 robot clicks on HELD_OUT held-out demo composites of the trained
    model, the FBA start (the clicks as a sparse trimap, as the thesis's "[46]" row of Table 5.3)
    and the closed-form scribble baseline. Seeds 0 / 1 / 2 (``train.seed`` of both runs): imatting
    0.41 / 0.44 / 0.39, FBA start 1.13 / 1.15 / 1.01, closed form 0.52; about 2.5 min on one thread."""
    root = tmp_path_factory.mktemp("imatting_learns")
    demo = demo_seg(root, n_objects=LEARNING_OBJECTS)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    started = time.perf_counter()
    try:
        fba = CliRunner().invoke(app, ["fit", "fba", "--config", "tiny", "--objects", str(demo["objects"]),
                                       "--backgrounds", str(demo["backgrounds"]), "--out", str(root / "fba"),
                                       "--no-progress", "--set", TINY_SIGMAS])
        assert fba.exit_code == 0, fba.output
        result = _fit(demo, root / "run", *LEARNING_RECIPE, init=root / "fba" / "last.pt")
        assert result.exit_code == 0 and "384/384 steps" in result.output, result.output
        bench = open_dataset(held_out_benchmark(root, n=HELD_OUT))
        trained = load_predictor(root / "run" / "last.pt", device="cpu")
        start = ImattingPredictor(load_predictor(root / "fba" / "last.pt", device="cpu"), trained.click_radius)
        sad = {"imatting": _sad_after_clicks(trained, bench), "fba start": _sad_after_clicks(start, bench),
               "baseline:scribble_cf": _sad_after_clicks(make_baseline("scribble_cf"), bench)}
    finally:
        torch.set_num_threads(before)
    print(f"whole-image SAD after 5 robot clicks, {HELD_OUT} held-out demo samples:",
          ", ".join(f"{k} {v:.3f}" for k, v in sad.items()), f"({time.perf_counter() - started:.0f} s)")
    return sad


@pytest.mark.slow
def test_tiny_run_beats_the_fba_model_it_started_from(learned):
    assert learned["imatting"] < learned["fba start"], learned


@pytest.mark.slow
def test_tiny_run_beats_the_closed_form_baseline(learned):
    assert learned["imatting"] < learned["baseline:scribble_cf"], learned


def test_sigint_checkpoints_the_step_reached_and_resume_is_bit_identical(data, tmp_path, one_thread):
    """Stopped in Task 2 (step 3 of 2 + 2 + 2 slots), resumed to the first slot of the next epoch."""
    import signal_at_step

    args = ["fit", "imatting", "--config", "tiny", "--objects", str(data["objects"]), "--backgrounds",
            str(data["backgrounds"]), "--data", str(data["seg"]), "--init", str(data["fba"]), "--no-progress",
            "--set", "schedule.seg_images=2", "--set", "schedule.imatting_images=2", "--set",
            "schedule.trimap_images=2", "--set", "train.log_steps=1", "--max-steps", "7"]
    a, b = signal_at_step.interrupt_and_resume(args, tmp_path, "imatting", 3, "SIGINT", 130)
    assert a["position"] == b["position"] and a["position"]["step"] == 7
    assert all(torch.equal(v, b["model"][k]) for k, v in a["model"].items())
