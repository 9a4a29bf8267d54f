"""The step loop every network's training shares: data order, AMP, DDP, logging, checkpoints.

A network plugs in as a :class:`Task` (its model, dataset and loss); the loop owns everything
that must be the same for all of them: the run length derived from epochs x dataset size /
(batch x world size), the deterministic per-rank batches (:mod:`training.loops.sampler`), RAdam
and the step schedule (:mod:`training.loops.optim`), ``metrics.csv``, a tqdm bar, and
checkpoints that resume bit for bit (:mod:`training.checkpoint`).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from training.checkpoint import load_checkpoint, model_payload, rng_state, save_checkpoint, set_rng_state
from training.config import TrainConfig
from training.distributed import World, barrier, wrap_model
from training.loops.metrics import MetricsLog
from training.loops.optim import make_optimizer, make_scheduler
from training.loops.sampler import loader_context, rank_batches, steps_per_epoch

LAST = "last.pt"
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
RESUME_FREE_KEYS = ("num_workers", "log_steps", "checkpoint_steps", "epoch_checkpoints")
"""``[train]`` keys a resumed run may change: they do not alter what is computed."""

LossFn = Callable[[nn.Module, dict], tuple[Tensor, dict[str, float]]]


@dataclass
class Task:
    """What one network contributes to a run.

    ``dataset`` has ``len()``, ``set_epoch(epoch)`` and ``[i] -> dict of tensors``; ``paired``
    says whether odd indices hold the 2x-scaled version of the preceding even one; ``loss``
    takes the (possibly DDP-wrapped) model and a batch on the device and returns the loss and
    its named parts as floats; ``config`` is the run config as tables (stored in checkpoints).
    """

    network: str
    model: nn.Module
    model_config: dict[str, Any]
    dataset: Any
    paired: bool
    loss: LossFn
    config: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class FitResult:
    steps_done: int
    total_steps: int
    checkpoint: Path
    metrics: Path


def fit(task: Task, train: TrainConfig, out: str | Path, world: World, *, max_steps: int | None = None,
        resume: bool = False, amp: str = "none", progress: bool = True) -> FitResult:
    """Train ``task`` into ``out`` (``last.pt``, ``epoch-NNNN.pt``, ``metrics.csv``).

    ``max_steps`` stops early (the schedule still follows the full run, so a stopped run resumed
    with ``resume`` ends exactly where an uninterrupted one does); ``amp``: none, bf16 or fp16.
    """
    out = Path(out)
    n = len(task.dataset)
    per_epoch = steps_per_epoch(n, train.batch_size, world.world_size, task.paired)
    if per_epoch == 0:
        need = train.batch_size * world.world_size * (2 if task.paired else 1)
        raise ValueError(f"the training data has {n} samples per epoch, fewer than one step needs ({need})")
    total = train.epochs * per_epoch
    dtype = _amp_dtype(amp, world.device)
    model = task.model.to(world.device)
    optimizer = make_optimizer(model, train)
    scheduler = make_scheduler(optimizer, train, per_epoch)
    scaler = torch.amp.GradScaler(world.device.type) if dtype == torch.float16 else None
    step = 0
    if resume:
        step = _restore(out / LAST, task, train, model, optimizer, scheduler, scaler, world.device)
    wrapped = wrap_model(model, world)
    log = MetricsLog(out, resume_step=step) if world.is_main else None
    stop = total if max_steps is None else min(total, max_steps)
    bar = tqdm(total=total, initial=step, unit="step", disable=not (progress and world.is_main),
               dynamic_ncols=True, desc=f"fit {task.network}")
    last_path = out / LAST
    tick, tick_step = time.perf_counter(), step
    wrapped.train()
    while step < stop:
        epoch, epoch_step = divmod(step, per_epoch)
        task.dataset.set_epoch(epoch)
        batches = rank_batches(n, seed=train.seed, epoch=epoch, batch_size=train.batch_size,
                               world_size=world.world_size, rank=world.rank, paired=task.paired,
                               start=epoch_step)[:stop - step]
        loader = DataLoader(task.dataset, batch_sampler=batches, num_workers=train.num_workers,
                            pin_memory=world.device.type == "cuda", **loader_context(train.num_workers))
        for batch in loader:
            batch = {k: v.to(world.device, non_blocking=True) if isinstance(v, Tensor) else v
                     for k, v in batch.items()}
            with torch.autocast(world.device.type, dtype=dtype) if dtype else contextlib.nullcontext():
                loss, parts = task.loss(wrapped, batch)
            if not math.isfinite(parts["total"]) and scaler is None:
                raise FloatingPointError(f"loss is {parts['total']} at step {step + 1}")
            lr = optimizer.param_groups[0]["lr"]
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            scheduler.step()
            step += 1
            bar.update(1)
            if step % train.log_steps == 0 or step == stop:
                values = _mean_over_ranks(parts, world)
                now = time.perf_counter()
                rate = (step - tick_step) * train.batch_size * world.world_size / max(now - tick, 1e-9)
                tick, tick_step = now, step
                bar.set_postfix(loss=f"{values['total']:.4f}", samples_s=f"{rate:.1f}")
                if log is not None:
                    row = {k: v for k, v in values.items() if k != "total"}
                    log.log({"step": step, "epoch": epoch, "lr": lr,
                             "loss": values["total"], "samples_per_s": rate, **row})
            epoch_done = step % per_epoch == 0
            if step % train.checkpoint_steps == 0 or step == stop or epoch_done:
                state = _state(task, model, optimizer, scheduler, scaler, step, per_epoch, total)
                if world.is_main:
                    save_checkpoint(last_path, state)
                    if epoch_done and train.epoch_checkpoints:
                        save_checkpoint(out / f"epoch-{step // per_epoch:04d}.pt", state)
                barrier(world)
    bar.close()
    if log is not None:
        log.close()
    return FitResult(step, total, last_path, out / "metrics.csv")


def _amp_dtype(amp: str, device: torch.device):
    if amp == "none":
        return None
    if amp not in AMP_DTYPES:
        raise ValueError(f"--amp must be none, bf16 or fp16, got {amp!r}")
    if amp == "fp16" and device.type != "cuda":
        raise ValueError("--amp fp16 needs a CUDA device (use bf16 on CPU)")
    return AMP_DTYPES[amp]


def _mean_over_ranks(parts: dict[str, float], world: World) -> dict[str, float]:
    """The logged loss parts averaged over ranks (one small all-reduce, on logged steps only)."""
    if not world.distributed:
        return parts
    keys = sorted(parts)
    values = torch.tensor([parts[k] for k in keys], dtype=torch.float64,
                          device=world.device if world.device.type == "cuda" else "cpu")
    dist.all_reduce(values)
    return dict(zip(keys, (values / world.world_size).tolist()))


def _state(task: Task, model, optimizer, scheduler, scaler, step: int, per_epoch: int, total: int) -> dict:
    return {**model_payload(task.network, task.model_config, model, task.config),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "scaler": None if scaler is None else scaler.state_dict(), "rng": rng_state(),
            "position": {"step": step, "epoch": step // per_epoch, "epoch_step": step % per_epoch,
                         "total_steps": total}}


def _restore(path: Path, task: Task, train: TrainConfig, model, optimizer, scheduler, scaler, device) -> int:
    """Load ``path`` into the run's objects; the run config must match the checkpoint's."""
    if not path.is_file():
        raise ValueError(f"--resume: no checkpoint {path} to resume from")
    state = load_checkpoint(path, task.network, map_location=device)
    saved, current = state.get("config", {}), task.config
    for table in sorted(set(saved) | set(current)):
        for key in sorted(set(saved.get(table, {})) | set(current.get(table, {}))):
            if table == "train" and key in RESUME_FREE_KEYS:
                continue
            was, now = saved.get(table, {}).get(key), current.get(table, {}).get(key)
            if was != now:
                raise ValueError(f"--resume: {path} was trained with {table}.{key}={was!r}, "
                                 f"this run has {now!r}")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"])
    return int(state["position"]["step"])
