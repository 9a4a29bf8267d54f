"""The step loop every network's training shares: data order, AMP, DDP, logging, checkpoints.

:func:`prepare_run` and its :class:`Run` own everything that must be the same for every network:
RAdam and the step schedule (:mod:`training.loops.optim`), AMP, the DDP wrapper, ``metrics.csv``,
a tqdm bar, and checkpoints that resume bit for bit (:mod:`training.checkpoint`). A loop that
goes through its data batch by batch plugs in as a :class:`Task` (model, dataset, the step on
one batch) into :func:`fit`, which adds the run length (epochs x dataset size / (batch x world
size)) and the deterministic per-rank batches (:mod:`training.loops.sampler`): FBA (one update
per batch) and interactive segmentation (one per click); interactive matting, whose epoch is a
schedule of three tasks, drives a :class:`Run` itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
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

from datagen.files import write_atomic
from training.checkpoint import (
    load_checkpoint,
    model_payload,
    remove_stale_temporaries,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from training.config import TrainConfig, config_toml
from training.distributed import World, barrier, wrap_model
from training.loops.budget import TIMED_STEPS, check_batch_memory, loader_workers, pace_line
from training.loops.folder import LAST, FolderLock, claim_folder, data_fingerprints, lock_folder
from training.loops.metrics import MetricsLog
from training.loops.optim import make_optimizer, make_scheduler
from training.loops.sampler import loader_context, rank_batches, steps_per_epoch
from training.loops.signals import StopRequests

CONFIG_FILE = "config.toml"
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
RESUME_FREE_KEYS = ("num_workers", "log_steps", "checkpoint_steps", "epoch_checkpoints")
"""``[train]`` keys a resumed run may change: they do not alter what is computed."""

LossFn = Callable[[nn.Module, dict], tuple[Tensor, dict[str, float]]]
StepFn = Callable[["Run", dict], dict[str, float]]


@dataclass(frozen=True)
class FitOptions:
    """How a run executes, apart from what it computes (the config): ``max_steps`` stops early
    while the schedule still follows the full run, ``resume`` continues from ``out/last.pt``,
    ``overwrite`` replaces a run already in ``out`` (without it, or ``resume``, such a folder is
    refused: a run is never lost silently), ``amp`` (none, bf16 or fp16) picks mixed precision,
    ``progress`` shows the bar and ``report`` receives the one-line messages (weights loaded,
    initialised from ...)."""

    max_steps: int | None = None
    resume: bool = False
    overwrite: bool = False
    amp: str = "none"
    progress: bool = True
    report: Callable[[str], None] = print


@dataclass(frozen=True)
class Trainee:
    """What a run trains and stores: the network's name (the checkpoint's ``network``), the
    model, its constructor config as a dict and the run config as tables (both stored in
    checkpoints; the tables also as ``config.toml``)."""

    network: str
    model: nn.Module
    model_config: dict[str, Any]
    config: dict[str, dict[str, Any]]


@dataclass
class Task:
    """What one network contributes to a batch-by-batch run.

    ``dataset`` has ``len()``, ``set_epoch(epoch)`` and ``[i] -> dict of tensors``; ``paired``
    says whether odd indices hold the 2x-scaled version of the preceding even one; ``step``
    trains on one batch (on the device) through the run's :meth:`Run.update` as often as the
    network needs (once: :func:`one_update`; once per click: interactive segmentation) and
    returns the step's loss (``total``) and named parts as floats.
    """

    trainee: Trainee
    dataset: Any
    paired: bool
    step: StepFn


@dataclass(frozen=True)
class Position:
    """Where a run is: steps per epoch, the schedule's total, where it stops and the step reached."""

    per_epoch: int
    total: int
    stop: int
    step: int


def run_identity(world: World, per_epoch: int, data: dict[str, str]) -> dict[str, Any]:
    """What makes a resume the same run beyond its config, stored in every checkpoint as ``run``:
    the world size, the steps per epoch (the unit of the schedule's milestones) and the data
    (:func:`training.loops.folder.data_fingerprints`)."""
    return {"world_size": world.world_size, "steps_per_epoch": per_epoch, "data": dict(data)}


@dataclass(frozen=True)
class Optimisation:
    """The optimiser, its lr schedule, the fp16 gradient scaler (or None) and the autocast dtype
    (None without ``--amp``)."""

    optimizer: Any
    scheduler: Any
    scaler: Any
    dtype: Any


def one_update(loss: LossFn) -> StepFn:
    """The step of a network trained with one optimiser update per batch: ``loss`` of the
    (possibly DDP-wrapped) model on the batch under the run's autocast, then one update."""

    def step(run: "Run", batch: dict) -> dict[str, float]:
        with run.autocast():
            value, parts = loss(run.wrapped, batch)
        run.update(value, parts["total"], f"step {run.step + 1}")
        return parts

    return step


class RunInterrupted(Exception):
    """SIGINT or SIGTERM stopped the run at the end of step ``step``, whose checkpoint is written
    (every rank of a DDP run stops at the same step); ``exit_code`` is the shell's 128 + signal."""

    def __init__(self, step: int, signum: int) -> None:
        super().__init__(f"interrupted at step {step}; continue with --resume")
        self.step, self.signum, self.exit_code = step, signum, 128 + signum


@dataclass(frozen=True)
class FitResult:
    steps_done: int
    total_steps: int
    checkpoint: Path
    metrics: Path


class Run:
    """One training run in progress: what every network's loop shares.

    Made by :func:`prepare_run`; a loop drives it inside ``with run:`` (which closes the bar
    and the log and puts the signal handlers back however the loop ends): ``while run.running``,
    forward under :meth:`autocast`, :meth:`update` once per loss, :meth:`end_step` once per
    progress step (the unit the schedule, ``--max-steps``, metrics, checkpoints and a stop on
    SIGINT/SIGTERM count in), :meth:`finish`. ``model`` is the bare module (state dicts, no-grad
    forwards), ``wrapped`` the one to train through (DDP in a multi-process world).
    """

    def __init__(self, trainee: Trainee, train: TrainConfig, out: Path, world: World, position: Position,
                 optimisation: Optimisation, options: FitOptions, identity: dict[str, Any],
                 lock: FolderLock | None = None) -> None:
        self.network, self.model = trainee.network, trainee.model
        self.model_config, self.config = trainee.model_config, trainee.config
        self.train, self.out, self.world = train, out, world
        self.per_epoch, self.total, self.stop, self.step = position.per_epoch, position.total, position.stop, position.step
        self.optimizer, self.scheduler = optimisation.optimizer, optimisation.scheduler
        self.scaler, self.dtype = optimisation.scaler, optimisation.dtype
        self.wrapped = wrap_model(self.model, world)
        self.log = MetricsLog(out, resume_step=self.step) if world.is_main else None
        self.bar = tqdm(total=self.total, initial=self.step, unit="step",
                        disable=not (options.progress and world.is_main), dynamic_ncols=True, desc=f"fit {self.network}")
        self._tick, self._tick_step = time.perf_counter(), self.step
        self.report = options.report if world.is_main else (lambda _line: None)
        self.workers = loader_workers(train.num_workers, self.report)
        self._first, self._paced = self.step, time.perf_counter()
        self.identity, self.lock = identity, lock
        self.stops = StopRequests()
        self.wrapped.train()

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self.step < self.stop

    @property
    def epoch(self) -> int:
        return self.step // self.per_epoch

    @property
    def epoch_step(self) -> int:
        return self.step % self.per_epoch

    def autocast(self):
        """The run's mixed-precision context (a no-op without ``--amp``)."""
        return torch.autocast(self.world.device.type, dtype=self.dtype) if self.dtype else contextlib.nullcontext()

    def to_device(self, batch: dict) -> dict:
        return {k: v.to(self.world.device, non_blocking=True) if isinstance(v, Tensor) else v for k, v in batch.items()}

    def loader(self, dataset, batches: list[list[int]]) -> DataLoader:
        """A loader over exactly ``batches`` (lists of dataset indices), workers as configured.

        Its own generator, seeded from (seed, step), draws the workers' base seed: opening a
        loader takes nothing from torch's global RNG, so the RNG state a checkpoint saves is the
        same whether the run was resumed (one more loader opened) or not."""
        generator = torch.Generator().manual_seed(self.train.seed * 1_000_003 + self.step)
        return DataLoader(dataset, batch_sampler=batches, num_workers=self.workers,
                          pin_memory=self.world.device.type == "cuda", generator=generator,
                          **loader_context(self.workers))

    def update(self, loss: Tensor, value: float, where: str) -> None:
        """One optimiser step on ``loss`` (``value``: its float, checked first; fp16 skips
        non-finite steps through its scaler instead)."""
        if not math.isfinite(value) and self.scaler is None:
            lr = self.optimizer.param_groups[0]["lr"]
            raise FloatingPointError(f"the loss is {value} at {where} (lr {lr:g}): training diverged; try a lower "
                                     f"learning rate, e.g. --set train.lr={lr / 10:g}, and --resume or a new run")
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            self.optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()

    def end_step(self, parts: dict[str, float], extra: dict[str, float] | None = None) -> None:
        """Close one progress step: the lr schedule, the bar, a ``metrics.csv`` row every
        ``log_steps`` (``parts``: ``total`` and named loss parts, averaged over ranks; ``extra``:
        columns the ranks share) and a checkpoint every ``checkpoint_steps``, at the stop and at
        each epoch's end."""
        epoch, lr = self.epoch, self.optimizer.param_groups[0]["lr"]
        self.scheduler.step()
        self.step += 1
        self.bar.update(1)
        self._pace()
        if self.step % self.train.log_steps == 0 or self.step == self.stop:
            values = _mean_over_ranks(parts, self.world)
            now = time.perf_counter()
            rate = ((self.step - self._tick_step) * self.train.batch_size * self.world.world_size
                    / max(now - self._tick, 1e-9))
            self._tick, self._tick_step = now, self.step
            self.bar.set_postfix(loss=f"{values['total']:.4f}", samples_s=f"{rate:.2f}", **(extra or {}))
            if self.log is not None:
                row = {k: v for k, v in values.items() if k != "total"}
                self.log.log({"step": self.step, "epoch": epoch, "lr": lr, "loss": values["total"],
                              "samples_per_s": rate, **row, **(extra or {})})
        epoch_done = self.step % self.per_epoch == 0
        signum = self._stop_signal() if self.running else 0
        if self.step % self.train.checkpoint_steps == 0 or self.step == self.stop or epoch_done or signum:
            self.checkpoint(epoch_done)
        if signum:
            raise RunInterrupted(self.step, signum)

    def _pace(self) -> None:
        """After the run's first step, time the next ``TIMED_STEPS`` and say once what is ahead."""
        if self.step == self._first + 1:
            self._paced = time.perf_counter()
        elif self.step == self._first + 1 + TIMED_STEPS and self.running:
            per_step = (time.perf_counter() - self._paced) / TIMED_STEPS
            self.report(pace_line(self.network, per_step, self._first + 1, self.stop - self.step,
                                  self.total - self.step, self.world.device.type))

    def _stop_signal(self) -> int:
        """The stop signal received by any rank (0: none): one tiny all-reduce per step, so
        that every rank stops at the same step, also when only one of them got the signal."""
        if not self.world.distributed:
            return self.stops.signum
        flag = torch.tensor([self.stops.signum], device=self.world.device if self.world.device.type == "cuda" else "cpu")
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item())

    def checkpoint(self, epoch_done: bool) -> None:
        """``last.pt`` (and ``epoch-NNNN.pt`` at an epoch's end when configured), rank 0 only."""
        state = {**model_payload(self.network, self.model_config, self.model, self.config),
                 "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                 "scaler": None if self.scaler is None else self.scaler.state_dict(), "rng": rng_state(),
                 "run": self.identity,
                 "position": {"step": self.step, "epoch": self.epoch, "epoch_step": self.epoch_step,
                              "total_steps": self.total}}
        if self.world.is_main:
            save_checkpoint(self.out / LAST, state)
            if epoch_done and self.train.epoch_checkpoints:
                save_checkpoint(self.out / f"epoch-{self.epoch:04d}.pt", state)
        barrier(self.world)

    def finish(self) -> FitResult:
        self.close()
        return FitResult(self.step, self.total, self.out / LAST, self.out / "metrics.csv")

    def close(self) -> None:
        """The bar, the log and the signal handlers as they were before the run, no temporary
        checkpoint file left, the folder unlocked (idempotent)."""
        self.stops.restore()
        self.bar.close()
        if self.log is not None:
            self.log.close()
        if self.lock is not None:
            remove_stale_temporaries(self.out)
            self.lock.release()


def initial_model(make: Callable[[], nn.Module], seed: int, world: World, report: Callable[[str], None], *,
                  pretrained: str | None = None, resume: bool = False,
                  init: tuple[str, dict[str, Any]] | None = None) -> nn.Module:
    """A run's starting network: its weights drawn after seeding with ``seed`` (they are part of
    "same seed, same run"), the encoder from local ImageNet weights ``pretrained`` when given, or
    every weight from ``init`` (the path and contents of a ``--init`` checkpoint), except on
    resume, where the run's checkpoint holds every weight."""
    torch.manual_seed(seed)
    model = make()
    if pretrained and not resume:
        loaded = model.load_pretrained(pretrained)  # type: ignore[operator]  # the encoders' loader, checked by its tests
        if world.is_main:
            report(f"pretrained encoder from {pretrained}: {loaded}")
    if init is not None and not resume:
        path, state = init
        model.load_state_dict(state["model"])
        if world.is_main:
            report(f"initialised from {path} (its step {int(state.get('position', {}).get('step', 0))})")
    return model


def prepare_run(trainee: Trainee, train: TrainConfig, out: str | Path, world: World, *, per_epoch: int,
                options: FitOptions = FitOptions(), data: dict[str, str] | None = None) -> Run:
    """Set a run up: the model on the device, RAdam and the step schedule over ``train.epochs x
    per_epoch`` steps, the fp16 scaler, and with ``options.resume`` everything restored from
    ``out/last.pt`` (whose run config must equal the trainee's). ``options.max_steps`` stops early
    while the schedule still follows the full run, so a stopped run resumed ends exactly where an
    uninterrupted one does. The run config is written to ``out/config.toml`` for people to read
    (the checkpoint stays what a resume and a predictor trust). ``data``: the fingerprints of the
    data (:func:`training.loops.folder.data_fingerprints`), which a resume must match, as it must
    the world size and steps per epoch. Rank 0 locks ``out`` for the run and removes temporary
    files a killed checkpoint write left there."""
    out = Path(out)
    lock = None
    if world.is_main:
        lock = lock_folder(out)
    try:
        return _prepare(trainee, train, out, world, per_epoch, options, run_identity(world, per_epoch, data or {}), lock)
    except BaseException:
        if lock is not None:
            lock.release()
        raise


def _prepare(trainee: Trainee, train: TrainConfig, out: Path, world: World, per_epoch: int, options: FitOptions,
             identity: dict[str, Any], lock: FolderLock | None) -> Run:
    """:func:`prepare_run` once the folder is locked."""
    total = train.epochs * per_epoch
    dtype = _amp_dtype(options.amp, world.device)
    model = trainee.model.to(world.device)
    optimizer = make_optimizer(model, train)
    scheduler = make_scheduler(optimizer, train, per_epoch)
    scaler = torch.amp.GradScaler(world.device.type) if dtype == torch.float16 else None
    if world.is_main:
        claim_folder(out, options.resume, options.overwrite)
        remove_stale_temporaries(out)
    step = 0
    if options.resume:
        state = _resumable(out / LAST, trainee.network, trainee.config, identity, world.device)
        step = _restore(state, model, optimizer, scheduler, scaler)
    if world.is_main:
        header = (f"The run config of this {trainee.network} run, as resolved (shipped config, file and --set).\n"
                  "For reading: last.pt holds the same tables and is what --resume and predictors use.")
        try:
            write_atomic(out / CONFIG_FILE, config_toml(trainee.config, header).encode())
        except OSError as exc:
            raise ValueError(f"cannot write {out / CONFIG_FILE}: {exc.strerror or exc}") from None
    stop = total if options.max_steps is None else min(total, options.max_steps)
    return Run(dataclasses.replace(trainee, model=model), train, out, world, Position(per_epoch, total, stop, step),
               Optimisation(optimizer, scheduler, scaler, dtype), options, identity, lock)


def fit(task: Task, train: TrainConfig, out: str | Path, world: World, options: FitOptions = FitOptions()) -> FitResult:
    """Train ``task`` into ``out`` (``last.pt``, ``epoch-NNNN.pt``, ``metrics.csv``, ``config.toml``),
    one progress step per batch; see :func:`prepare_run` for the options."""
    check_batch_memory(train.batch_size, task.dataset)
    n = len(task.dataset)
    per_epoch = steps_per_epoch(n, train.batch_size, world.world_size, task.paired)
    if per_epoch == 0:
        need = train.batch_size * world.world_size * (2 if task.paired else 1)
        raise ValueError(f"the training data has {n} samples per epoch, fewer than one step needs ({need})")
    with prepare_run(task.trainee, train, out, world, per_epoch=per_epoch, options=options,
                     data=data_fingerprints(task.dataset)) as run:
        while run.running:
            task.dataset.set_epoch(run.epoch)
            batches = rank_batches(n, seed=train.seed, epoch=run.epoch, batch_size=train.batch_size,
                                   world_size=world.world_size, rank=world.rank, paired=task.paired,
                                   start=run.epoch_step)[:run.stop - run.step]
            for batch in run.loader(task.dataset, batches):
                run.end_step(task.step(run, run.to_device(batch)))
        return run.finish()


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
    return dict(zip(keys, (values / world.world_size).tolist(), strict=True))


def _resumable(path: Path, network: str, config: dict[str, dict[str, Any]], identity: dict[str, Any],
               device) -> dict:
    """The checkpoint at ``path`` if this run continues it: the same run config (but for
    ``RESUME_FREE_KEYS``), data, world size and steps per epoch; else one line naming both values.
    (Checkpoints written before ``run`` was stored are checked on their config alone.)"""
    if not path.is_file():
        raise ValueError(f"--resume: no checkpoint {path} to resume from")
    state = load_checkpoint(path, network, map_location=device)
    saved, current = state.get("config", {}), config
    for table in sorted(set(saved) | set(current)):
        for key in sorted(set(saved.get(table, {})) | set(current.get(table, {}))):
            if table == "train" and key in RESUME_FREE_KEYS:
                continue
            was, now = saved.get(table, {}).get(key), current.get(table, {}).get(key)
            if was != now:
                raise ValueError(f"--resume: {path} was trained with {table}.{key}={was!r}, "
                                 f"this run has {now!r}")
    before = state.get("run") or {}
    was_data, now_data = before.get("data", {}), identity["data"]
    for role in sorted(set(was_data) | set(now_data)) if "data" in before else ():
        if was_data.get(role) != now_data.get(role):
            raise ValueError(f"--resume: {path} was trained on the {role} {_short(was_data.get(role))}, this run "
                             f"reads {_short(now_data.get(role))} (resume with the run's own data, or start a new run)")
    if "world_size" in before and before["world_size"] != identity["world_size"]:
        raise ValueError(f"--resume: {path} was trained by {before['world_size']} process(es), this run has "
                         f"{identity['world_size']} (resume with the same torchrun --nproc_per_node)")
    if "steps_per_epoch" in before and before["steps_per_epoch"] != identity["steps_per_epoch"]:
        raise ValueError(f"--resume: {path} has {before['steps_per_epoch']} steps per epoch, this run "
                         f"{identity['steps_per_epoch']} (its schedule's milestones would not fit)")
    return state


def _short(digest: str | None) -> str:
    return f"{digest[:12]}..." if digest else "(none)"


def _restore(state: dict, model, optimizer, scheduler, scaler) -> int:
    """Load a checkpoint accepted by :func:`_resumable` into the run's objects; returns its step."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"])
    return int(state["position"]["step"])
