"""Interactive matting training, the three-task ping-pong of thesis Ch. 5.2.2.

Each epoch runs, in ``schedule.order``:

* Task 1 ``seg``: interactive segmentation on real images with binary masks; ``seg_images``
  images (thesis: 200 SBD images), ``seg_clicks`` clicks each (4); after every click the
  soft-IoU loss of Eq. 5.1 and one weight update;
* Task 2 ``imatting``: interactive matting on matting composites; ``imatting_images`` images
  (431, the DIM foregrounds), between ``imatting_clicks`` = (5, 8) clicks each, the full matting
  loss (Eq. 5.2 = :func:`training.losses.fba_loss`) and an update after every click from the
  ``imatting_first_update``-th (4th) on: "the loss on the first few clicks would be still quite
  large";
* Task 3 ``trimap``: trimap matting, ``trimap_images`` images (200), one update each.

Clicks come from the evaluation's matting robot (:func:`training.clicks.robots.next_click_matting`,
"this click placement algorithm is used both for training and for testing") on the model's own
quantised prediction, the first one from an all-zero prediction; a perfect prediction gets the
evaluation's explicit stand-in click, so every image takes its configured number of clicks.

Progress unit: a *step* here is one image slot (``batch_size`` images per rank, each through its
whole click sequence): the unit that checkpoints and ``--resume`` can cut at exactly, and the
one ``lr_drop_epochs`` and ``--max-steps`` count in. Which images a slot holds is a pure function
of (seed, epoch, task, slot), as is the click count of a Task 2 slot (shared by the ranks so that
DDP ranks update in lockstep), so N ranks at batch b make the updates of one rank at batch N x b.
The optimiser (RAdam, weight-decay split), checkpoints, metrics and the DDP wrapper are the
shared ones of :mod:`training.loops.engine`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from datagen.compose.convert import quantize_alpha
from training.clicks import NO_ERROR, Click
from training.clicks.paint import click_trimap
from training.clicks.robots import next_click_matting
from training.config import TrainConfig, config_to_dict, load_config
from training.data import MattingData, MattingDataConfig, SegData, SegDataConfig
from training.data.clicks import user_input
from training.distributed import World
from training.loops.budget import check_batch_memory
from training.loops.engine import FitOptions, FitResult, Run, Trainee, initial_model, prepare_run
from training.loops.fba import fba_batch_loss
from training.loops.folder import data_fingerprints
from training.losses import soft_iou_click_loss
from training.models import FBAConfig, FBANet
from training.models.imatting import NETWORK, init_from_fba

TASKS = ("seg", "imatting", "trimap")
TASK_NUMBER = {name: k + 1 for k, name in enumerate(TASKS)}
"""The thesis's Task 1/2/3, logged as the ``task`` column of ``metrics.csv``."""
IGNORED = 128
"""Ground-truth value the matting robot treats as neither definite FG (255) nor BG (0)."""


@dataclass(frozen=True)
class ScheduleConfig:
    """The ``[schedule]`` table: task order and sizes per epoch (defaults: the thesis)."""

    order: tuple[str, ...] = TASKS
    seg_images: int = 200
    seg_clicks: int = 4
    imatting_images: int = 431
    imatting_clicks: tuple[int, int] = (5, 8)
    imatting_first_update: int = 4
    trimap_images: int = 200
    click_radius: int = 3

    def __post_init__(self) -> None:
        if sorted(self.order) != sorted(set(self.order)) or not set(self.order) <= set(TASKS) or not self.order:
            raise ValueError(f"schedule.order must list distinct tasks of {', '.join(TASKS)}, got {list(self.order)}")
        for name in ("seg_images", "imatting_images", "trimap_images"):
            if getattr(self, name) < 0:
                raise ValueError(f"schedule.{name} must be >= 0, got {getattr(self, name)}")
        low, high = self.imatting_clicks
        if not 1 <= low <= high:
            raise ValueError(f"schedule.imatting_clicks must be [min, max] with 1 <= min <= max, got {[low, high]}")
        if self.seg_clicks < 1:
            raise ValueError(f"schedule.seg_clicks must be >= 1, got {self.seg_clicks}")
        if not 1 <= self.imatting_first_update <= low:
            raise ValueError(f"schedule.imatting_first_update must be in [1, imatting_clicks min = {low}], "
                             f"got {self.imatting_first_update}")
        if self.click_radius < 0:
            raise ValueError(f"schedule.click_radius must be >= 0 px, got {self.click_radius}")

    def images(self, task: str) -> int:
        return getattr(self, f"{task}_images")


SCHEMA = {"model": FBAConfig, "data": MattingDataConfig, "seg": SegDataConfig, "schedule": ScheduleConfig,
          "train": TrainConfig}


def load_imatting_config(name: str | Path, overrides=()) -> dict[str, Any]:
    """A shipped interactive matting config by stem (``thesis``, ``tiny``) or a TOML path."""
    return load_config(name, NETWORK, SCHEMA, overrides)


# --------------------------------------------------------------------------- which images, how many clicks
def task_order(n_images: int, dataset_len: int, seed: int, epoch: int, task: str) -> np.ndarray:
    """The ``n_images`` dataset indices a task uses in ``epoch``: permutations of the dataset drawn
    from (seed, epoch, task), concatenated until long enough (a set smaller than the task repeats)."""
    rng = np.random.default_rng([seed, epoch, TASK_NUMBER[task]])
    rounds = -(-n_images // dataset_len)
    return np.concatenate([rng.permutation(dataset_len) for _ in range(rounds)])[:n_images]


def imatting_click_count(seed: int, epoch: int, slot: int, bounds: tuple[int, int]) -> int:
    """Clicks of Task 2 slot ``slot``: uniform in ``bounds`` (inclusive), from (seed, epoch, slot)."""
    return int(np.random.default_rng([seed, epoch, TASK_NUMBER["imatting"], slot]).integers(bounds[0], bounds[1] + 1))


@dataclass(frozen=True)
class Plan:
    """Slots per task in one epoch, in schedule order (a slot: ``batch_size`` images per rank)."""

    tasks: tuple[str, ...]
    slots: tuple[int, ...]

    @property
    def per_epoch(self) -> int:
        return sum(self.slots)

    def locate(self, epoch_step: int) -> tuple[str, int]:
        """(task, slot within the task) of step ``epoch_step`` of an epoch."""
        for task, n in zip(self.tasks, self.slots, strict=True):
            if epoch_step < n:
                return task, epoch_step
            epoch_step -= n
        raise IndexError(epoch_step)


def make_plan(schedule: ScheduleConfig, batch_size: int, world_size: int) -> Plan:
    per_slot = batch_size * world_size
    slots = []
    for task in schedule.order:
        n = schedule.images(task)
        if 0 < n < per_slot:
            raise ValueError(f"schedule.{task}_images = {n} is fewer than one step needs "
                             f"(batch {batch_size} x {world_size} ranks)")
        slots.append(n // per_slot)
    if not sum(slots):
        raise ValueError("the schedule has no image in any task")
    return Plan(tuple(schedule.order), tuple(slots))


# --------------------------------------------------------------------------- one slot
@dataclass
class ImattingRun:
    """What one run trains: the model (an :class:`FBANet` with click input, or any module with
    its call signature), Task 1's data and Tasks 2-3's matting data, the run config as tables."""

    model: nn.Module
    model_config: dict[str, Any]
    seg: Any
    matting: Any
    config: dict[str, dict[str, Any]]


def _encode_clicks(clicks: list[list[Click]], shape: tuple[int, int], radius: int, sigmas, device) -> tuple[Tensor, Tensor]:
    """Batched ``trimap2`` and distance maps of each sample's clicks so far."""
    pairs = [user_input(click_trimap(shape, c, radius), sigmas) for c in clicks]
    return (torch.from_numpy(np.stack([p[0] for p in pairs])).to(device),
            torch.from_numpy(np.stack([p[1] for p in pairs])).to(device))


def click_sequence(run: Run, batch: dict, gt: list[np.ndarray], n_clicks: int, first_update: int,
                   loss_fn: Callable[[Tensor, dict, list[list[Click]]], tuple[Tensor, float]], radius: int,
                   sigmas, device: torch.device) -> tuple[int, float]:
    """One slot of Task 1 or 2: ``n_clicks`` robot clicks per sample, the model's prediction after
    each, and an update from click ``first_update`` on. Returns (updates, mean loss of the updates)."""
    h, w = gt[0].shape
    pred = [np.zeros((h, w), np.uint8) for _ in gt]
    clicks: list[list[Click]] = [[] for _ in gt]
    updates, loss_sum = 0, 0.0
    for k in range(1, n_clicks + 1):
        for b in range(len(gt)):
            click = next_click_matting(gt[b], pred[b], clicks[b])
            clicks[b].append((h - 1, w - 1, False) if click == NO_ERROR else click)
        trimap2, maps = _encode_clicks(clicks, (h, w), radius, sigmas, device)
        learn = k >= first_update
        with torch.set_grad_enabled(learn), run.autocast():
            out = (run.wrapped if learn else run.model)(batch["image"], trimap2, maps)
            if learn:
                loss, value = loss_fn(out, {**batch, "trimap2": trimap2, "trimap_maps": maps}, clicks)
        if learn:
            run.update(loss, value, f"step {run.step + 1}, click {k}")
            updates += 1
            loss_sum += value
        alpha = out[:, 0].detach().float().cpu().numpy()
        pred = [quantize_alpha(a) for a in alpha]
    return updates, loss_sum / max(updates, 1)


def _seg_loss(out: Tensor, batch: dict, clicks) -> tuple[Tensor, float]:
    loss = soft_iou_click_loss(out[:, :1], batch["mask"], batch["valid"], clicks)
    return loss, float(loss.detach())


def _matting_loss(model_out: Tensor, batch: dict, clicks) -> tuple[Tensor, float]:
    """Eq. 5.2 per sample (:func:`fba_batch_loss`; the forward has been made, so it is handed the
    output as its "model"); the clicks' disks are the trimap, everything else counts as unknown."""
    loss, parts = fba_batch_loss(lambda *_: model_out, batch)  # type: ignore[arg-type]  # any callable stands in
    return loss, parts["total"]


def _seg_gt(batch: dict) -> list[np.ndarray]:
    """uint8 robot ground truth of Task 1: 255 object, 0 background, 128 on ignored pixels."""
    mask, valid = batch["mask"][:, 0].cpu().numpy(), batch["valid"][:, 0].cpu().numpy()
    return [np.where(v > 0, m * 255, IGNORED).astype(np.uint8) for m, v in zip(mask, valid, strict=True)]


def run_slot(task: str, run: Run, batch: dict, schedule: ScheduleConfig, sigmas, seed: int, epoch: int,
             slot: int, device: torch.device) -> tuple[int, float]:
    """One slot of ``task``; returns (optimiser updates made, mean loss over them)."""
    if task == "trimap":
        with run.autocast():
            loss, parts = fba_batch_loss(run.wrapped, batch)
        run.update(loss, parts["total"], f"step {run.step + 1} (the trimap task)")
        return 1, parts["total"]
    if task == "seg":
        return click_sequence(run, batch, _seg_gt(batch), schedule.seg_clicks, 1, _seg_loss,
                              schedule.click_radius, sigmas, device)
    n = imatting_click_count(seed, epoch, slot, schedule.imatting_clicks)
    gt = [quantize_alpha(a) for a in batch["alpha"][:, 0].cpu().numpy()]
    return click_sequence(run, batch, gt, n, schedule.imatting_first_update, _matting_loss,
                          schedule.click_radius, sigmas, device)


# --------------------------------------------------------------------------- the run
def fit_schedule(imatting: ImattingRun, schedule: ScheduleConfig, train: TrainConfig, sigmas, out: str | Path,
                 world: World, options: FitOptions = FitOptions()) -> FitResult:
    """Train ``imatting`` into ``out`` (``last.pt``, ``epoch-NNNN.pt``, ``metrics.csv``); see the module notes."""
    check_batch_memory(train.batch_size, imatting.seg, imatting.matting)
    plan = make_plan(schedule, train.batch_size, world.world_size)
    run = prepare_run(Trainee(NETWORK, imatting.model, imatting.model_config, imatting.config), train, out, world,
                      per_epoch=plan.per_epoch, options=options, data=data_fingerprints(imatting.seg, imatting.matting))
    with run:
        _run_plan(run, imatting, plan, schedule, train, sigmas, world)
        return run.finish()


def _run_plan(run: Run, imatting: ImattingRun, plan: Plan, schedule: ScheduleConfig, train: TrainConfig, sigmas,
              world: World) -> None:
    """The slots of ``plan`` from the run's step to its stop."""
    datasets = {"seg": imatting.seg, "imatting": imatting.matting, "trimap": imatting.matting}
    per_slot = train.batch_size * world.world_size
    while run.running:
        epoch = run.epoch
        task, slot = plan.locate(run.epoch_step)
        data = datasets[task]
        data.set_epoch(epoch)
        n_slots = plan.slots[plan.tasks.index(task)]
        order = task_order(n_slots * per_slot, len(data), train.seed, epoch, task)
        slots = range(slot, min(n_slots, slot + run.stop - run.step))
        batches = [[int(i) for i in order[(j * world.world_size + world.rank) * train.batch_size:][:train.batch_size]]
                   for j in slots]
        for j, batch in zip(slots, run.loader(data, batches), strict=True):
            updates, loss = run_slot(task, run, run.to_device(batch), schedule, sigmas, train.seed, epoch, j,
                                     world.device)
            run.end_step({"total": loss}, {"task": TASK_NUMBER[task], "updates": updates})


def fit_imatting(config: dict[str, Any], out: str | Path, world: World, *, seg: str, objects: str | None = None,
                 backgrounds: str | None = None, matting: str | None = None, init: str | None = None,
                 options: FitOptions = FitOptions()) -> FitResult:
    """Train interactive matting from an FBA checkpoint ``init`` (ignored on resume: the run's
    checkpoint holds every weight); ``seg``: Task 1's segmentation shards; Tasks 2-3 read an
    ``objects`` + ``backgrounds`` bank pair (online compositing) or ``matting`` shards."""
    train: TrainConfig = config["train"]
    model_cfg: FBAConfig = config["model"]
    data_cfg: MattingDataConfig = config["data"]
    matting_data = MattingData(data_cfg, objects=objects, backgrounds=backgrounds, matting=matting, seed=train.seed)
    seg_data = SegData(config["seg"], seg, seed=train.seed)
    if matting_data.skip_note and world.is_main:
        options.report(matting_data.skip_note)
    model: FBANet = initial_model(lambda: FBANet(model_cfg), train.seed, world, options.report)  # type: ignore[assignment]
    if init and not options.resume:
        loaded = init_from_fba(model, init)
        if world.is_main:
            options.report(str(loaded))
    run = ImattingRun(model, model_cfg.to_dict(), seg_data, matting_data, config_to_dict(config))
    return fit_schedule(run, config["schedule"], train, data_cfg.distance_sigmas, out, world, options)
