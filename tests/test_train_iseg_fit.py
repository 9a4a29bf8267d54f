"""`training fit iseg` end to end on demo synth-seg data: checkpoints and metrics.csv, a resumed run
bit-identical to an uninterrupted one, the fine-tuning stage from --init, one-line errors for bad
input, and (slow) two gloo ranks making the update of one process at batch 2."""

from __future__ import annotations

import csv

import pytest
import torch
from ddp_check import ddp_weight_gaps
from fba_training_data import demo_seg
from typer.testing import CliRunner

from training.checkpoint import load_checkpoint, model_payload, save_checkpoint
from training.cli import app
from training.loops.iseg import load_iseg_config
from training.models.iseg import IsegNet, IsegNetConfig

TINY_ISEG = load_iseg_config("tiny")["model"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Demo banks and 8 demo seg samples at 96 px (the tiny config crops 64 px)."""
    root = tmp_path_factory.mktemp("iseg")
    return {**demo_seg(root, n=8), "root": root}


def _fit(data_path, out, *extra):
    args = ["fit", "iseg", "--config", "tiny", "--data", str(data_path), "--out", str(out), "--no-progress",
            "--device", "cpu", "--set", "train.log_steps=1", *extra]
    return CliRunner().invoke(app, args)


def _metrics(run):
    with open(run / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_fit_writes_an_iseg_checkpoint_and_resumes_bit_for_bit(data, tmp_path, one_thread):
    full = _fit(data["seg"], tmp_path / "full", "--max-steps", "3")
    assert full.exit_code == 0, full.output
    assert "fit iseg: 3/32 steps" in full.output
    rows = _metrics(tmp_path / "full")
    assert [int(r["step"]) for r in rows] == [1, 2, 3] and all(float(r["loss"]) > 0 for r in rows)
    state = load_checkpoint(tmp_path / "full" / "last.pt", "iseg")
    assert state["model_config"] == TINY_ISEG.to_dict()
    assert state["config"]["clicks"] == {"per_image": 4, "all_at_once": False, "negative_band": 40}
    assert state["position"]["step"] == 3
    IsegNet(IsegNetConfig.from_dict(state["model_config"])).load_state_dict(state["model"])   # rebuilds

    cut = _fit(data["seg"], tmp_path / "cut", "--max-steps", "1")
    assert cut.exit_code == 0, cut.output
    resumed = _fit(data["seg"], tmp_path / "cut", "--max-steps", "3", "--resume")
    assert resumed.exit_code == 0, resumed.output
    a, b = (load_checkpoint(tmp_path / d / "last.pt", "iseg") for d in ("full", "cut"))
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert [r["loss"] for r in _metrics(tmp_path / "cut")] == [r["loss"] for r in rows]

    changed = _fit(data["seg"], tmp_path / "cut", "--max-steps", "4", "--resume", "--set", "clicks.per_image=3")
    assert changed.exit_code != 0 and "was trained with clicks.per_image=4, this run has 3" in changed.output


def test_finetune_stage_starts_from_init_with_its_own_recipe(data, tmp_path, one_thread):
    torch.manual_seed(1)
    start = IsegNet(TINY_ISEG)
    save_checkpoint(tmp_path / "pre.pt", model_payload("iseg", TINY_ISEG.to_dict(), start, {}))
    result = _fit(data["seg"], tmp_path / "tune", "--stage", "finetune", "--init", str(tmp_path / "pre.pt"),
                  "--max-steps", "1", "--set", "finetune.lr=1e-12")
    assert result.exit_code == 0, result.output
    assert "initialised from" in result.output and "fit iseg: 1/16 steps" in result.output   # 2 epochs x 8
    state = load_checkpoint(tmp_path / "tune" / "last.pt", "iseg")
    assert state["config"]["train"]["epochs"] == 2 and state["config"]["train"]["lr"] == 1e-12
    assert float(_metrics(tmp_path / "tune")[0]["lr"]) == 1e-12
    moved = max((state["model"][k] - v).abs().max().item() for k, v in start.state_dict().items())
    assert moved < 1e-6                                  # 4 updates at lr 1e-12: still the --init weights


def test_bad_input_is_one_line_naming_it(data, tmp_path):
    cases = [
        ((data["seg"], tmp_path / "a", "--stage", "finetune"), "--stage finetune starts from the pre-trained network"),
        ((data["backgrounds"], tmp_path / "b"), "a 'seg' dataset or a 'benchmark' with masks is needed"),
        ((tmp_path / "missing", tmp_path / "c"), "segmentation data:"),
        ((data["seg"], tmp_path / "d", "--stage", "warmup"), "--stage must be pretrain or finetune"),
        ((data["seg"], tmp_path / "e", "--set", "clicks.all_at_onc=true"), "unknown key clicks.all_at_onc"),
        ((data["seg"], tmp_path / "f", "--resume"), "no checkpoint"),
    ]
    other = IsegNetConfig(width=8, blocks=(1, 1, 1, 1), ppm_channels=8, interaction_channels=(8,) * 6,
                          decoder_channels=(16,) * 6)
    save_checkpoint(tmp_path / "other.pt", model_payload("iseg", other.to_dict(), IsegNet(other), {}))
    save_checkpoint(tmp_path / "fba.pt", {"network": "fba", "model_config": {}, "model": {}})
    cases += [
        # with --init the network is the checkpoint's: only a --set model.* that contradicts it is an error
        ((data["seg"], tmp_path / "g", "--init", str(tmp_path / "other.pt"), "--set",
          "model.decoder_channels=[32, 32, 32, 16, 16, 8]"), "its network has model.decoder_channels="),
        ((data["seg"], tmp_path / "h", "--init", str(tmp_path / "fba.pt")), "holds a 'fba' network, not 'iseg'"),
        ((data["seg"], tmp_path / "i", "--init", str(tmp_path / "other.pt"), "--pretrained", str(tmp_path / "x.pth")),
         "not both"),
    ]
    for args, message in cases:
        result = _fit(*args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output


@pytest.mark.slow
def test_two_gloo_ranks_match_one_process_on_the_same_images(data, tmp_path):
    """One step: four clicks, four updates; each rank's robot clicks on its own image."""
    args = lambda out, batch: ["fit", "iseg", "--config", "tiny", "--data", str(data["seg"]), "--out",  # noqa: E731
                               str(out), "--no-progress", "--max-steps", "1", "--device", "cpu",
                               "--set", f"train.batch_size={batch}"]
    moved, other = ddp_weight_gaps(tmp_path, "iseg", args)
    print(f"largest weight difference: DDP vs one process at batch 2 {moved:.2e}, batch 1 vs batch 2 {other:.2e}")
    # float sums in another order, through four RAdam updates: small, and far below a real difference
    assert moved < 1e-4 and moved < other / 20, (moved, other)


def test_sigterm_checkpoints_the_step_reached_and_resume_is_bit_identical(data, tmp_path, one_thread):
    import signal_at_step

    args = ["fit", "iseg", "--config", "tiny", "--data", str(data["seg"]), "--no-progress", "--device", "cpu",
            "--set", "train.log_steps=1", "--max-steps", "3"]
    a, b = signal_at_step.interrupt_and_resume(args, tmp_path, "iseg", 2, "SIGTERM", 143)
    assert a["position"] == b["position"] and all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert [r["loss"] for r in _metrics(tmp_path / "cut")] == [r["loss"] for r in _metrics(tmp_path / "whole")]
