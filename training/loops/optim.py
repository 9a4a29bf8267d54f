"""RAdam with the thesis's weight-decay split and its step-decay schedule.

Thesis Ch. 3.4 and 4.3.6: "weight decay of 0.005, 1e-5 to convolutional weights, and the GN
parameters respectively". The split rule used here: every parameter with two or more dimensions
(conv kernels, the only such parameters in these networks) takes the conv decay; every 1-D one
(GroupNorm scale and shift, and conv biases, about which the thesis says nothing) takes the small
decay, since shrinking a shift or scale towards zero is not the regularisation weight decay means.
"""

from __future__ import annotations

import torch
from torch import nn

from training.config import TrainConfig


def param_groups(model: nn.Module, weight_decay_conv: float, weight_decay_norm: float) -> list[dict]:
    """Two optimiser groups, conv kernels first; parameters in registration order (deterministic)."""
    conv: list[nn.Parameter] = []
    other: list[nn.Parameter] = []
    for param in model.parameters():
        if param.requires_grad:
            (conv if param.ndim >= 2 else other).append(param)
    return [{"params": conv, "weight_decay": weight_decay_conv, "name": "conv"},
            {"params": other, "weight_decay": weight_decay_norm, "name": "norm"}]


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """RAdam over :func:`param_groups` (L2-style decay, as RAdam's reference implementation)."""
    groups = param_groups(model, cfg.weight_decay_conv, cfg.weight_decay_norm)
    return torch.optim.RAdam(groups, lr=cfg.lr, betas=(cfg.betas[0], cfg.betas[1]))


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int):
    """lr x ``lr_gamma`` at each of ``lr_drop_epochs``, stepped once per optimiser step so a resumed
    run (restarting mid-epoch) keeps the schedule exact."""
    milestones = [epoch * steps_per_epoch for epoch in cfg.lr_drop_epochs]
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=cfg.lr_gamma)
