"""One process or many: the process group, the device and the model wrapper from torchrun's env.

``torchrun --nproc_per_node N -m training fit ...`` sets RANK, WORLD_SIZE and LOCAL_RANK; without
them the same code runs as a world of one with no process group at all. NCCL on GPUs, gloo on
CPU. Gradients are averaged over ranks by DDP, and each rank reads its own share of every step's
samples (:mod:`training.loops.sampler`), so N ranks at batch b make the update one rank makes at
batch N x b.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class World:
    """This process's place in the run."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes checkpoints, metrics and the progress bar."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` (CUDA if present, else CPU), ``cpu`` or ``cuda``; under torchrun CUDA ranks take
    GPU LOCAL_RANK."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("--device cuda: no CUDA device is available")
        return torch.device("cuda", local_rank)
    if name == "cpu":
        return torch.device("cpu")
    raise ValueError(f"--device must be auto, cpu or cuda, got {name!r}")


def init_world(device: str = "auto") -> World:
    """Join torchrun's process group when its variables are set, else a world of one."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if world_size > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return World(rank, world_size, local_rank, dev)


def wrap_model(model: nn.Module, world: World) -> nn.Module:
    """DDP around ``model`` in a multi-process world; the model itself otherwise."""
    if not world.distributed:
        return model
    ids = [world.device.index] if world.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def barrier(world: World) -> None:
    """Wait for every rank (no-op in a world of one)."""
    if world.distributed:
        dist.barrier()


def close_world(world: World) -> None:
    """Leave the process group so the process exits cleanly."""
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()
