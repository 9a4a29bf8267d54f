"""Interactive segmentation training, image by image and click by click (thesis Ch. 3.2.2, 3.4).

One *step* is one image slot (``batch_size`` images per rank), each image through its whole
click sequence; it is the unit of the lr schedule, ``--max-steps``, ``metrics.csv`` and exact
``--resume``. In a slot, for each of ``clicks.per_image`` (4) clicks:

1. the click robot of protocol L (:func:`training.clicks.robots.next_click_largest_region`,
   the evaluation's own function) places the next click at the interior point of the largest
   mislabelled region of the *current* binary prediction (the first one all zero), ignored
   pixels (``valid`` 0) being in no region;
2. the six click maps of all clicks so far (:func:`training.models.iseg.click_maps`) and the
   previous prediction go through the network;
3. the loss of Eq. 3.1 (:func:`training.losses.soft_iou_click_loss`) on its raw output, and one
   optimiser step ("the weights are updated through back-propagation before the next click");
4. the next prediction is the output with clicked pixels forced to their label
   (:func:`training.models.iseg.force_clicks`, what a user sees), thresholded at 0.5 for the robot
   (protocol L's rule).

So a clicked pixel is always right in the robot's view and is never clicked again. An image
whose prediction has no error left gets no new click (the evaluation's stand-in click would only
repeat a corner); its loss still counts, so every rank makes the same number of updates.

``prev_mask`` (the interaction stream's input) is the previous click's forced probability, zeros
before the first: the :class:`training.evaluation.contracts.IsegModel` contract's meaning, so a
predictor feeds the network what it was trained on.

``clicks.all_at_once``: the ablation baseline ("the standard bundled click strategy", Ch. 3.3.3):
the same number of clicks drawn at once from the ground truth, 1..n positives uniformly on the
object, the rest negatives uniformly on background pixels within ``negative_band`` px of it (all
background when that band is empty), from (seed, epoch, index); one forward with a zero previous
mask and one update per slot.

Two stages (Ch. 3.4.2): ``--stage pretrain`` (the ``[train]`` table: synthetic data, 10 epochs at
1e-5 in the thesis config) and ``--stage finetune --init PRETRAIN/last.pt`` (``[train]`` with the
``[finetune]`` table's epochs and learning rate: real data, 5 epochs at 5e-6); each stage is an
ordinary run of its own folder, resumable and DDP-able alike. Checkpoints: network ``"iseg"``,
``model_config`` = :meth:`IsegNetConfig.to_dict` (click sigmas included; clicks are single
pixels, there is no radius), ``config`` = the run config as tables with the stage's ``[train]``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor, nn

from training.checkpoint import init_network_config
from training.clicks import MASK_THRESHOLD, NO_ERROR, Click
from training.clicks.paint import click_masks
from training.clicks.robots import next_click_largest_region
from training.config import TrainConfig, config_to_dict, load_config
from training.data import SegData, SegDataConfig
from training.data.sampling import sample_rng
from training.distributed import World
from training.loops.engine import FitOptions, FitResult, Run, Task, Trainee, fit, initial_model
from training.losses import soft_iou_click_loss
from training.models.iseg import CLICK_SIGMAS, IsegNet, IsegNetConfig, click_maps, force_clicks

NETWORK = "iseg"
STAGES = ("pretrain", "finetune")
CLICK_STREAM = 11
"""Sub-stream id of the all-at-once click draws (apart from the data's streams of an index)."""


@dataclass(frozen=True)
class ClicksConfig:
    """The ``[clicks]`` table: clicks per image (thesis: 4, "the overall performance did not improve
    when placing more than 4 clicks") and the all-at-once ablation, whose negative clicks lie
    within ``negative_band`` px of the object (Xu et al. place them "near the object"; the
    distance is not given, 40 px is a tenth of a typical SBD image side)."""

    per_image: int = 4
    all_at_once: bool = False
    negative_band: int = 40

    def __post_init__(self) -> None:
        if self.per_image < 1:
            raise ValueError(f"clicks.per_image must be >= 1, got {self.per_image}")
        if self.negative_band < 1:
            raise ValueError(f"clicks.negative_band must be >= 1 px, got {self.negative_band}")


@dataclass(frozen=True)
class FinetuneConfig:
    """The ``[finetune]`` table: what ``--stage finetune`` changes in ``[train]`` (Ch. 3.4.2:
    "finetuning the previous model on SBD for 5 epochs with learning rate 5e-6")."""

    epochs: int = 5
    lr: float = 5e-6
    lr_drop_epochs: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.epochs <= 0 or self.lr <= 0:
            raise ValueError(f"finetune.epochs and finetune.lr must be > 0, got {self.epochs} and {self.lr}")


SCHEMA = {"model": IsegNetConfig, "data": SegDataConfig, "clicks": ClicksConfig, "train": TrainConfig,
          "finetune": FinetuneConfig}


def load_iseg_config(name: str | Path, overrides=()) -> dict[str, Any]:
    """A shipped iseg config by stem (``thesis``, ``tiny``) or a TOML path, with ``--set`` overrides."""
    return load_config(name, NETWORK, SCHEMA, overrides)


def stage_train(config: dict[str, Any], stage: str) -> TrainConfig:
    """The ``[train]`` recipe of ``stage``: as written for ``pretrain``, with ``[finetune]``'s
    epochs and learning rate for ``finetune``."""
    if stage not in STAGES:
        raise ValueError(f"--stage must be {' or '.join(STAGES)}, got {stage!r}")
    train: TrainConfig = config["train"]
    if stage == "pretrain":
        return train
    tune: FinetuneConfig = config["finetune"]
    return dataclasses.replace(train, epochs=tune.epochs, lr=tune.lr, lr_drop_epochs=tune.lr_drop_epochs)


# --------------------------------------------------------------------------- clicks
def robot_gt(mask: Tensor, valid: Tensor) -> list[np.ndarray]:
    """The robots' int8 ground truth per sample: 1 object, 0 background, -1 ignored."""
    objects, scored = mask[:, 0].cpu().numpy() > 0, valid[:, 0].cpu().numpy() > 0
    return [np.where(v, m.astype(np.int8), np.int8(-1)) for m, v in zip(objects, scored, strict=True)]


def sample_clicks(gt: np.ndarray, n: int, band: int, rng: np.random.Generator) -> list[Click]:
    """All-at-once clicks (see the module notes): distinct pixels, positives first."""
    obj, bg = gt == 1, gt == 0
    n_pos = int(rng.integers(1, n + 1)) if obj.any() else 0
    near = bg & (ndimage.distance_transform_edt(~obj) <= band) if obj.any() else bg
    negatives = near if near.any() else bg
    clicks: list[Click] = []
    for region, count, positive in ((obj, n_pos, True), (negatives, n - n_pos, False)):
        ys, xs = np.nonzero(region)
        for k in rng.choice(len(ys), size=min(count, len(ys)), replace=False):
            clicks.append((int(ys[k]), int(xs[k]), positive))
    return clicks


def _click_tensors(clicks: list[list[Click]], shape: tuple[int, int], sigmas, device,
                   side: int = 0) -> tuple[Tensor, Tensor]:
    """(Bx2xHxW click masks, Bx6xHxW click maps) of each sample's clicks so far."""
    masks = np.stack([click_masks(shape, sample) for sample in clicks])
    maps = np.stack([click_maps(m, sigmas, side) for m in masks])
    return torch.from_numpy(masks).to(device), torch.from_numpy(maps).to(device)


def _learn(run: Run, batch: dict, clicks: list[list[Click]], prev: Tensor, sigmas, where: str,
           side: int = 0) -> tuple[Tensor, float]:
    """One forward on the clicks so far, Eq. 3.1 and one optimiser step; returns the forced
    prediction (detached) and the loss."""
    masks, maps = _click_tensors(clicks, tuple(batch["image"].shape[-2:]), sigmas, batch["image"].device, side)
    with run.autocast():
        out = run.wrapped(batch["image"], maps, prev)
        loss = soft_iou_click_loss(out, batch["mask"], batch["valid"], clicks)
    value = float(loss.detach())
    run.update(loss, value, where)
    return force_clicks(out.detach().float(), masks), value


def click_by_click(run: Run, batch: dict, n_clicks: int, sigmas, side: int = 0) -> float:
    """One slot: ``n_clicks`` robot clicks per image, an update after each; returns the mean loss."""
    gt = robot_gt(batch["mask"], batch["valid"])
    prob = torch.zeros_like(batch["mask"])
    pred = [np.zeros(g.shape, bool) for g in gt]
    clicks: list[list[Click]] = [[] for _ in gt]
    total = 0.0
    for k in range(1, n_clicks + 1):
        for b in range(len(gt)):
            click = next_click_largest_region(gt[b], pred[b], clicks[b])
            if click != NO_ERROR:
                clicks[b].append(click)
        prob, value = _learn(run, batch, clicks, prob, sigmas, f"step {run.step + 1}, click {k}", side)
        pred = list(prob[:, 0].cpu().numpy() >= MASK_THRESHOLD)
        total += value
    return total / n_clicks


def all_at_once(run: Run, batch: dict, cfg: ClicksConfig, sigmas, seed: int, epoch: int, side: int = 0) -> float:
    """One slot of the ablation baseline: one update on clicks drawn from the ground truth."""
    clicks = [sample_clicks(g, cfg.per_image, cfg.negative_band, sample_rng(seed, epoch, int(i), CLICK_STREAM))
              for g, i in zip(robot_gt(batch["mask"], batch["valid"]), batch["index"], strict=True)]
    _, value = _learn(run, batch, clicks, torch.zeros_like(batch["mask"]), sigmas, f"step {run.step + 1}", side)
    return value


# --------------------------------------------------------------------------- the run
@dataclass
class IsegRun:
    """What one run trains: the model (an :class:`IsegNet`, or any module with its call
    signature ``model(image, maps, prev_mask)``), its data (``len``, ``set_epoch``, ``[i]`` ->
    image, mask, valid, index), the click-map sigmas and side (0: the longer side) and the run
    config as tables."""

    model: nn.Module
    model_config: dict[str, Any]
    data: Any
    config: dict[str, dict[str, Any]]
    sigmas: tuple[float, ...] = CLICK_SIGMAS
    click_side: int = 0


def fit_clicks(iseg: IsegRun, clicks: ClicksConfig, train: TrainConfig, out: str | Path, world: World,
               options: FitOptions = FitOptions()) -> FitResult:
    """Train ``iseg`` into ``out`` (``last.pt``, ``epoch-NNNN.pt``, ``metrics.csv``); see the module notes."""

    def step(run: Run, batch: dict) -> dict[str, float]:
        if clicks.all_at_once:
            return {"total": all_at_once(run, batch, clicks, iseg.sigmas, train.seed, run.epoch, iseg.click_side)}
        return {"total": click_by_click(run, batch, clicks.per_image, iseg.sigmas, iseg.click_side)}

    task = Task(Trainee(NETWORK, iseg.model, iseg.model_config, iseg.config), dataset=iseg.data, paired=False,
                step=step)
    return fit(task, train, out, world, options)


def fit_iseg(config: dict[str, Any], out: str | Path, world: World, *, data: str, stage: str = "pretrain",
             init: str | None = None, pretrained: str | None = None, model_overrides: tuple[str, ...] = (),
             options: FitOptions = FitOptions()) -> FitResult:
    """Train the interactive segmentation network on ``data`` (seg shards, or a benchmark with
    masks) for ``stage``. ``pretrained``: local ImageNet ResNet-50 weights for the image stream;
    ``init``: an iseg checkpoint to start from (``finetune`` needs one), whose network replaces
    the config's ``[model]`` (:func:`training.checkpoint.init_network_config`; ``model_overrides``
    are the ``--set model.*`` items). The weights of both are ignored on resume, where the run's
    checkpoint holds every weight."""
    train = stage_train(config, stage)
    if not options.resume:
        if pretrained and init:
            raise ValueError("give --pretrained (ImageNet weights) or --init (an iseg checkpoint), not both")
        if stage == "finetune" and not init:
            raise ValueError("--stage finetune starts from the pre-trained network: give --init PRETRAIN_RUN/last.pt")
    model_cfg: IsegNetConfig = config["model"]
    start = None
    if init:
        model_cfg, start = init_network_config(init, NETWORK, IsegNetConfig, model_cfg, model_overrides)
        config = {**config, "model": model_cfg}
    dataset = SegData(config["data"], data, seed=train.seed)
    model = initial_model(lambda: IsegNet(model_cfg), train.seed, world, options.report, pretrained=pretrained,
                          resume=options.resume, init=None if start is None else (str(init), start))
    tables = config_to_dict({**config, "train": train})
    run = IsegRun(model, model_cfg.to_dict(), dataset, tables, model_cfg.click_sigmas, model_cfg.click_side)
    return fit_clicks(run, config["clicks"], train, out, world, options)
