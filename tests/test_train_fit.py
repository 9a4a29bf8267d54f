"""The FBA fit loop: it learns (overfits one real sample, beats its untrained self on held-out
samples through `training evaluate matting`), resumes bit for bit, and names bad input in one line."""

from __future__ import annotations

import csv
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib
import torch
from fba_training_data import demo_banks, held_out_benchmark, real_object_bank
from typer.testing import CliRunner

from datagen.shards import open_dataset
from training.checkpoint import CheckpointError, load_checkpoint, model_payload, save_checkpoint
from training.cli import app
from training.config import TrainConfig, config_to_dict
from training.data import MattingData
from training.loops.fba import fba_batch_loss, load_fba_config
from training.loops.optim import make_optimizer, make_scheduler, param_groups
from training.models import FBANet


@pytest.fixture(scope="module")
def banks(tmp_path_factory):
    return demo_banks(tmp_path_factory.mktemp("banks"))


def _fit(objects, backgrounds, out, *extra):
    args = ["fit", "fba", "--config", "tiny", "--objects", str(objects), "--backgrounds", str(backgrounds),
            "--out", str(out), "--no-progress", *extra]
    return CliRunner().invoke(app, args)


def _metrics(run):
    with open(run / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------- it learns
def test_tiny_model_overfits_one_real_sample(shared_data, tmp_path, one_thread, banks):
    cfg = load_fba_config("tiny", ["train.lr=1e-2"])
    data = MattingData(cfg["data"], objects=str(real_object_bank(tmp_path, shared_data)),
                       backgrounds=str(banks[1]), seed=0)
    batch = {k: v[None] for k, v in data[0].items() if isinstance(v, torch.Tensor)}
    torch.manual_seed(0)
    net = FBANet(cfg["model"])
    optimizer = make_optimizer(net, cfg["train"])
    losses = []
    for _ in range(150):
        loss, parts = fba_batch_loss(net, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(parts["total"])
    assert losses[-1] * 10 <= losses[0], (losses[0], losses[-1])


@pytest.mark.slow
def test_tiny_run_beats_its_untrained_self_on_held_out_samples(banks, tmp_path, one_thread):
    objects, backgrounds = banks
    bench = held_out_benchmark(tmp_path)
    result = _fit(objects, backgrounds, tmp_path / "run", "--max-steps", "200")
    assert result.exit_code == 0, result.output
    assert "200/384 steps" in result.output   # 6 objects x 8 composites x 2 scales x 4 epochs
    rows = _metrics(tmp_path / "run")
    assert [int(r["step"]) for r in rows] == list(range(5, 201, 5)) and float(rows[-1]["loss"]) > 0
    cfg = load_fba_config("tiny")
    torch.manual_seed(cfg["train"].seed)       # the fit's own initialisation, untrained
    untrained = FBANet(cfg["model"])
    save_checkpoint(tmp_path / "untrained.pt", model_payload("fba", cfg["model"].to_dict(), untrained,
                                                               config_to_dict(cfg)))
    sad = {}
    for name, ckpt in (("untrained", tmp_path / "untrained.pt"), ("trained", tmp_path / "run" / "last.pt")):
        out = tmp_path / f"eval-{name}"
        result = CliRunner().invoke(app, ["evaluate", "matting", "--benchmark", str(bench), "--model", str(ckpt),
                                          "--out", str(out), "--no-progress"])
        assert result.exit_code == 0, result.output
        sad[name] = json.loads((out / "results.json").read_text())["aggregate"]["sad"]
    assert sad["trained"] < 0.8 * sad["untrained"], sad


# --------------------------------------------------------------------------- resume
def test_resume_after_a_stop_is_bit_identical(banks, tmp_path, one_thread):
    objects, backgrounds = banks
    short = ["--set", "data.composites_per_object=1", "--set", "train.checkpoint_steps=2"]
    assert _fit(objects, backgrounds, tmp_path / "whole", *short, "--max-steps", "7").exit_code == 0
    assert _fit(objects, backgrounds, tmp_path / "cut", *short, "--max-steps", "3").exit_code == 0
    result = _fit(objects, backgrounds, tmp_path / "cut", *short, "--max-steps", "7", "--resume")
    assert result.exit_code == 0, result.output
    whole, cut = (load_checkpoint(tmp_path / run / "last.pt", "fba") for run in ("whole", "cut"))
    assert whole["position"] == cut["position"] and whole["position"]["step"] == 7
    for key, value in whole["model"].items():
        assert torch.equal(value, cut["model"][key]), key
    for pid, state in whole["optimizer"]["state"].items():
        assert all(torch.equal(v, cut["optimizer"]["state"][pid][k]) for k, v in state.items())
    assert whole["scheduler"] == cut["scheduler"]
    assert torch.equal(whole["rng"]["torch"], cut["rng"]["torch"])       # opening a loader draws nothing
    steps = [int(r["step"]) for r in _metrics(tmp_path / "cut")]
    assert steps == sorted(set(steps)) and steps[-1] == 7


def test_resume_refuses_a_changed_recipe_and_a_missing_checkpoint(banks, tmp_path, one_thread):
    objects, backgrounds = banks
    result = _fit(objects, backgrounds, tmp_path / "none", "--resume")
    assert result.exit_code == 2 and "no checkpoint" in result.output
    assert _fit(objects, backgrounds, tmp_path / "r", "--set", "data.composites_per_object=1",
                "--max-steps", "1").exit_code == 0
    result = _fit(objects, backgrounds, tmp_path / "r", "--set", "data.composites_per_object=1",
                  "--set", "train.lr=1e-4", "--resume")
    assert result.exit_code == 2 and "train.lr=0.003" in result.output


def test_pretrained_weights_reach_the_encoder(banks, tmp_path, one_thread):
    from training.models.resnet_gnws import ResNetGNWS

    cfg = load_fba_config("tiny")["model"]
    imagenet = ResNetGNWS(3, cfg.width, cfg.blocks, cfg.gn_groups)       # torchvision key names
    torch.save({"state_dict": imagenet.state_dict()}, tmp_path / "imagenet.pth")
    objects, backgrounds = banks
    result = _fit(objects, backgrounds, tmp_path / "run", "--pretrained", str(tmp_path / "imagenet.pth"),
                  "--set", "data.composites_per_object=1", "--set", "train.lr=1e-12", "--max-steps", "1")
    assert result.exit_code == 0, result.output
    assert "8 extra input channels zero-initialised" in result.output
    stem = load_checkpoint(tmp_path / "run" / "last.pt")["model"]["encoder.conv1.weight"]
    torch.testing.assert_close(stem[:, :3], imagenet.conv1.weight.detach(), atol=1e-6, rtol=0)


# --------------------------------------------------------------------------- recipe pieces
def test_weight_decay_split_and_step_schedule():
    net = FBANet(load_fba_config("tiny")["model"])
    conv, norm = param_groups(net, 0.005, 1e-5)
    assert (conv["weight_decay"], norm["weight_decay"]) == (0.005, 1e-5)
    gn = {id(p) for m in net.modules() if isinstance(m, torch.nn.GroupNorm) for p in m.parameters()}
    kernels = {id(m.weight) for m in net.modules() if isinstance(m, torch.nn.Conv2d)}
    assert {id(p) for p in conv["params"]} == kernels
    assert gn <= {id(p) for p in norm["params"]}
    assert len(conv["params"]) + len(norm["params"]) == len(list(net.parameters()))
    train = TrainConfig(lr=1e-5, lr_drop_epochs=(2,), epochs=3)
    optimizer = make_optimizer(net, train)
    scheduler = make_scheduler(optimizer, train, steps_per_epoch=3)
    lrs = []
    for _ in range(9):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs == pytest.approx([1e-5] * 6 + [1e-6] * 3)


def test_iterations_follow_epochs_dataset_and_batch(banks, tmp_path, one_thread):
    objects, backgrounds = banks
    result = _fit(objects, backgrounds, tmp_path / "b2", "--set", "train.batch_size=2", "--max-steps", "1")
    assert result.exit_code == 0 and "1/192 steps" in result.output      # 96 samples / 2 x 4 epochs


def test_run_folder_holds_the_resolved_config_as_toml(banks, tmp_path, one_thread):
    """config.toml: the shipped config with the --set overrides, readable by people and by the
    ordinary config reader, and the same tables the checkpoint stores."""
    objects, backgrounds = banks
    sets = ["train.batch_size=2", "train.lr=2e-4"]
    result = _fit(objects, backgrounds, tmp_path / "run", *(a for s in sets for a in ("--set", s)), "--max-steps", "1")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "run" / "config.toml").read_text()
    assert text.startswith("# ") and "\n[train]\n" in text and "\nlr = 0.0002\n" in text and "\nbatch_size = 2\n" in text
    assert load_fba_config(tmp_path / "run" / "config.toml") == load_fba_config("tiny", sets)
    assert tomllib.loads(text) == load_checkpoint(tmp_path / "run" / "last.pt", "fba")["config"]


# --------------------------------------------------------------------------- bad input
def test_empty_bank_and_wrong_sources_are_one_line_errors(banks, tmp_path):
    from datagen.runner import Execution
    from datagen.shards.build import write_dataset

    write_dataset(tmp_path / "empty", "objects", [], lambda i: {}, execution=Execution(progress=False))
    result = _fit(tmp_path / "empty", banks[1], tmp_path / "run")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "empty" in result.output and "objects bank" in result.output
    result = CliRunner().invoke(app, ["fit", "fba", "--config", "tiny", "--objects", str(banks[0]),
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "--backgrounds" in result.output


class _Executable:
    """Stands for anything that is not plain tensors and containers (pickled code)."""


def test_checkpoints_load_plain_data_only_and_know_their_network(tmp_path):
    torch.save({"format": "matting-datagen-checkpoint", "obj": _Executable()}, tmp_path / "code.pt")
    with pytest.raises(CheckpointError, match="cannot be read as plain tensors"):
        load_checkpoint(tmp_path / "code.pt")
    torch.save(FBANet(load_fba_config("tiny")["model"]).state_dict(), tmp_path / "bare.pt")
    with pytest.raises(CheckpointError, match="not a training checkpoint"):
        load_checkpoint(tmp_path / "bare.pt")
    save_checkpoint(tmp_path / "iseg.pt", {"network": "iseg", "model_config": {}, "model": {}})
    with pytest.raises(CheckpointError, match="holds a 'iseg' network, not 'fba'"):
        load_checkpoint(tmp_path / "iseg.pt", "fba")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bare.pt", "code.pt", "iseg.pt"]   # no temp files


# --------------------------------------------------------------------------- a run is never lost
def test_a_folder_that_holds_a_run_is_refused_unless_resumed_or_overwritten(banks, tmp_path, one_thread):
    objects, backgrounds = banks
    short = ["--set", "data.composites_per_object=1", "--max-steps", "1"]
    run = tmp_path / "run"
    assert _fit(objects, backgrounds, run, *short, "--set", "train.epoch_checkpoints=true").exit_code == 0
    (run / "epoch-0000.pt").write_bytes(b"stands for an old epoch checkpoint")
    before = (run / "last.pt").read_bytes()
    again = _fit(objects, backgrounds, run, *short)
    assert again.exit_code == 2, again.output
    lines = again.output.strip().splitlines()
    assert len(lines) == 1 and str(run) in lines[0] and "--resume" in lines[0] and "--overwrite" in lines[0]
    assert (run / "last.pt").read_bytes() == before                   # untouched
    both = _fit(objects, backgrounds, run, *short, "--resume", "--overwrite")
    assert both.exit_code == 2 and "not both" in both.output
    replaced = _fit(objects, backgrounds, run, *short, "--set", "train.lr=1e-4", "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert load_checkpoint(run / "last.pt", "fba")["config"]["train"]["lr"] == 1e-4
    assert not (run / "epoch-0000.pt").exists()                         # nothing of the old run is left


@pytest.mark.parametrize("signal_name, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_checkpoints_the_step_reached_and_resume_is_bit_identical(banks, tmp_path, one_thread,
                                                                           signal_name, code):
    """A real signal in step 2 (before the first periodic checkpoint at 100): the run writes
    last.pt at step 2, says how to continue and exits 128 + signal; --resume to 5 equals a run
    straight to 5."""
    import signal_at_step

    objects, backgrounds = banks
    args = ["fit", "fba", "--config", "tiny", "--objects", str(objects), "--backgrounds", str(backgrounds),
            "--no-progress", "--set", "data.composites_per_object=1", "--set", "train.log_steps=1", "--max-steps", "5"]
    whole, cut = signal_at_step.interrupt_and_resume(args, tmp_path, "fba", 2, signal_name, code)
    assert whole["position"] == cut["position"] and whole["position"]["step"] == 5
    assert all(torch.equal(v, cut["model"][k]) for k, v in whole["model"].items())
    for pid, state in whole["optimizer"]["state"].items():
        assert all(torch.equal(v, cut["optimizer"]["state"][pid][k]) for k, v in state.items())
    assert [r["loss"] for r in _metrics(tmp_path / "cut")] == [r["loss"] for r in _metrics(tmp_path / "whole")]


def test_resume_refuses_other_data_another_world_size_and_another_epoch_length(banks, tmp_path, one_thread):
    """The checkpoint stores what makes a resume the same run beyond its config; each mismatch is
    one line naming both values (here written into the checkpoint, as another run would have)."""
    objects, backgrounds = banks
    short = ["--set", "data.composites_per_object=1", "--max-steps", "1"]
    assert _fit(objects, backgrounds, tmp_path / "run", *short).exit_code == 0
    state = load_checkpoint(tmp_path / "run" / "last.pt", "fba")
    digest = open_dataset(objects).manifest["contents_sha256"]
    assert state["run"] == {"world_size": 1, "steps_per_epoch": 12, "data": {
        "objects bank": digest, "backgrounds bank": open_dataset(backgrounds).manifest["contents_sha256"]}}
    cases = [({"data": {**state["run"]["data"], "objects bank": "f" * 64}},
              f"was trained on the objects bank ffffffffffff..., this run reads {digest[:12]}..."),
             ({"world_size": 2}, "was trained by 2 process(es), this run has 1"),
             ({"steps_per_epoch": 48}, "has 48 steps per epoch, this run 12")]
    for change, message in cases:
        save_checkpoint(tmp_path / "run" / "last.pt", {**state, "run": {**state["run"], **change}})
        result = _fit(objects, backgrounds, tmp_path / "run", *short[:2], "--max-steps", "2", "--resume")
        assert result.exit_code == 2 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1


def test_one_fit_at_a_time_in_a_folder_and_a_dead_fits_lock_is_taken_over(banks, tmp_path, one_thread):
    from training.loops.folder import LOCK_NAME, lock_folder

    objects, backgrounds = banks
    short = ["--set", "data.composites_per_object=1", "--max-steps", "1"]
    held = lock_folder(tmp_path / "run")              # what a running fit holds
    try:
        result = _fit(objects, backgrounds, tmp_path / "run", *short)
    finally:
        held.release()
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert f"--out {tmp_path / 'run'} is in use by another fit (pid {os.getpid()})" in result.output
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / "run" / LOCK_NAME).write_text(dead.stdout)                 # left by a killed fit
    (tmp_path / "run" / ".last.pt.tmp-4242").write_bytes(b"half a checkpoint")   # its killed write
    result = _fit(objects, backgrounds, tmp_path / "run", *short)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.toml", "last.pt", "metrics.csv"]


# --------------------------------------------------------------------------- one line, not a traceback
def _one_line(result, *parts):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert all(part in lines[0] for part in parts), (parts, lines[0])


def test_a_nan_loss_names_the_step_and_a_lower_learning_rate(banks, tmp_path, monkeypatch, one_thread):
    import training.loops.fba as fba_loop

    real = fba_loop.fba_batch_loss

    def diverged(model, batch):
        loss, parts = real(model, batch)
        return loss * float("nan"), {**parts, "total": float("nan")}

    monkeypatch.setattr(fba_loop, "fba_batch_loss", diverged)
    result = _fit(*banks, tmp_path / "run", "--set", "data.composites_per_object=1", "--max-steps", "2")
    _one_line(result, "the loss is nan at step 1 (lr 0.003)", "lower learning rate", "--set train.lr=0.0003")


def test_a_full_disk_during_a_checkpoint_is_one_line_and_leaves_no_temporary(banks, tmp_path, monkeypatch, one_thread):
    def full_disk(payload, target):
        Path(target).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    result = _fit(*banks, tmp_path / "run", "--set", "data.composites_per_object=1", "--max-steps", "2")
    _one_line(result, f"cannot write checkpoint {tmp_path / 'run' / 'last.pt'}: No space left on device")
    assert not list((tmp_path / "run").glob(".*tmp*"))


def test_a_run_folder_that_becomes_unwritable_is_one_line(banks, tmp_path, monkeypatch, one_thread):
    """Root ignores file modes, so the folder's refusal is simulated where the run appends its
    metrics: the first step's row is written, the second step's is refused."""
    import builtins

    import training.loops.metrics as metrics

    appends = []

    def guarded_open(path, mode="r", *args, **kwargs):
        if mode == "a" and Path(path).name == "metrics.csv":
            appends.append(path)
            if len(appends) > 1:
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(metrics, "open", guarded_open, raising=False)
    result = _fit(*banks, tmp_path / "run", "--set", "data.composites_per_object=1", "--set", "train.log_steps=1",
                  "--max-steps", "4")
    _one_line(result, f"cannot write {tmp_path / 'run' / 'metrics.csv'}: Permission denied")


def test_a_huge_out_size_is_refused_before_any_sample_is_drawn(banks, tmp_path, one_thread):
    result = _fit(*banks, tmp_path / "run", "--set", "data.out_size=80000", "--max-steps", "1")
    _one_line(result, "out_size 80000 px", "GB", "memory")
    assert not (tmp_path / "run" / "last.pt").exists()


def test_an_all_opaque_object_is_skipped_with_one_line_at_the_start(banks, tmp_path, one_thread):
    from datagen.demo.banks import object_sample
    from datagen.runner import Execution
    from datagen.shards.build import write_dataset

    def sample(i):
        if i == 1:
            return {"id": "slab", "fg": np.zeros((96, 96, 3), np.uint8), "alpha": np.full((96, 96), 255, np.uint8)}
        return object_sample(i, seed=0, size=(96, 96))

    write_dataset(tmp_path / "objects", "objects", [0, 1, 2], sample, execution=Execution(progress=False))
    result = _fit(tmp_path / "objects", banks[1], tmp_path / "run", "--set", "data.composites_per_object=2",
                  "--max-steps", "8")
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if "skipping" in line]
    assert len(notes) == 1 and "skipping 1 of 3 objects with no unknown pixel" in notes[0] and "slab" in notes[0]
    assert "8/32 steps" in result.output              # 2 usable objects x 2 composites x 2 scales x 4 epochs


# --------------------------------------------------------------------------- what a run is about to do
def test_the_thesis_without_pretrained_weights_says_it_starts_from_random_ones(banks, tmp_path, one_thread):
    """The thesis network (ResNet-50 encoder) for one step on 64 px crops: the note comes first."""
    small = ["--set", "data.composites_per_object=1", "--set", "data.crop_sizes=[96]", "--set", "data.out_size=64",
             "--set", "train.num_workers=0", "--max-steps", "1"]
    result = CliRunner().invoke(app, ["fit", "fba", "--config", "thesis", "--objects", str(banks[0]), "--backgrounds",
                                      str(banks[1]), "--out", str(tmp_path / "run"), "--no-progress", *small])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("the thesis starts from ImageNet weights (--pretrained R50.pth")


def test_a_run_says_its_pace_and_on_a_cpu_a_long_schedule_gets_the_hint(banks, tmp_path, one_thread):
    result = _fit(*banks, tmp_path / "run", "--set", "data.composites_per_object=1", "--set", "train.epochs=100000",
                  "--max-steps", "5", "--device", "cpu")
    assert result.exit_code == 0, result.output
    paces = [line for line in result.output.splitlines() if "s/step" in line]
    assert len(paces) == 1, result.output
    assert paces[0].startswith("fit fba: 2 steps to go at ") and "(timed on steps 2-3)" in paces[0]
    assert "the whole schedule (1199997 steps) takes about" in paces[0]
    assert "--config tiny" in paces[0] and "--device cuda" in paces[0]


def test_more_loader_workers_than_cores_is_one_line_not_pytorch_warnings(banks, tmp_path, monkeypatch, one_thread):
    import warnings

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _fit(*banks, tmp_path / "run", "--set", "data.composites_per_object=1", "--set",
                      "train.num_workers=2", "--max-steps", "2")
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if "num_workers" in line]
    assert notes == ["train.num_workers=2 is more than the 1 CPU core(s) this process may use: using 1 loader worker(s)"]
    assert not [w for w in caught if "worker" in str(w.message)], [str(w.message) for w in caught]
