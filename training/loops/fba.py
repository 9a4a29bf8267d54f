"""FBA matting training (thesis Ch. 4.3): the network, its data and its loss as a fit-loop Task.

The config has three tables: ``[model]`` (:class:`training.models.FBAConfig`), ``[data]``
(:class:`training.data.MattingDataConfig`) and ``[train]`` (:class:`training.config.TrainConfig`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor, nn

from training.checkpoint import init_network_config
from training.config import TrainConfig, config_to_dict, load_config
from training.data import MattingData, MattingDataConfig
from training.distributed import World
from training.loops.engine import FitOptions, FitResult, Task, Trainee, fit, initial_model, one_update
from training.losses import fba_loss
from training.models import FBAConfig, FBANet

NETWORK = "fba"
SCHEMA = {"model": FBAConfig, "data": MattingDataConfig, "train": TrainConfig}


def load_fba_config(name: str | Path, overrides=()) -> dict[str, Any]:
    """A shipped FBA config by stem (``thesis``, ``tiny``) or a TOML path, with ``--set`` overrides."""
    return load_config(name, NETWORK, SCHEMA, overrides)


def fba_batch_loss(model: nn.Module, batch: dict) -> tuple[Tensor, dict[str, float]]:
    """Forward the batch once, then the mean of the per-sample losses.

    The loss normalises by the unknown-pixel count; taken over a whole batch that would weigh a
    sample by its band width. Per sample, every sample weighs the same, so a batch of b on N DDP
    ranks (gradients averaged) is exactly the update of one rank with a batch of N x b.
    """
    out = model(batch["image"], batch["trimap2"], batch["trimap_maps"])
    n = out.shape[0]
    total: Tensor | None = None
    parts: dict[str, float] = {}
    for b in range(n):
        one = {k: v[b:b + 1] for k, v in batch.items() if isinstance(v, Tensor) and v.ndim >= 1}
        loss, sample_parts = fba_loss(out[b:b + 1], one)
        total = loss if total is None else total + loss
        for key, value in sample_parts.items():
            parts[key] = parts.get(key, 0.0) + value / n
    return total / n, parts


def fit_fba(config: dict[str, Any], out: str | Path, world: World, *, objects: str | None = None,
            backgrounds: str | None = None, matting: str | None = None, pretrained: str | None = None,
            init: str | None = None, model_overrides: tuple[str, ...] = (),
            options: FitOptions = FitOptions()) -> FitResult:
    """Train FBA from an ``objects`` + ``backgrounds`` bank pair (online compositing) or ``matting``
    shards; ``pretrained``: local ImageNet ResNet-50 weights for the encoder; ``init``: an fba
    checkpoint (ours or an imported published one) whose network replaces the config's ``[model]``
    (:func:`training.checkpoint.init_network_config`; ``model_overrides`` are the ``--set model.*``
    items) and whose weights are the start. Weights are ignored on resume, where the checkpoint
    already holds every weight."""
    train: TrainConfig = config["train"]
    model_cfg: FBAConfig = config["model"]
    data_cfg: MattingDataConfig = config["data"]
    if pretrained and init and not options.resume:
        raise ValueError("give --pretrained (ImageNet weights) or --init (an fba checkpoint), not both")
    start = None
    if init:
        model_cfg, start = init_network_config(init, NETWORK, FBAConfig, model_cfg, model_overrides)
        config = {**config, "model": model_cfg}
    data = MattingData(data_cfg, objects=objects, backgrounds=backgrounds, matting=matting, seed=train.seed)
    if data.skip_note and world.is_main:
        options.report(data.skip_note)
    model = initial_model(lambda: FBANet(model_cfg), train.seed, world, options.report, pretrained=pretrained,
                          resume=options.resume, init=None if start is None else (str(init), start))
    task = Task(Trainee(NETWORK, model, model_cfg.to_dict(), config_to_dict(config)), dataset=data,
                paired=data_cfg.rescale_every_second, step=one_update(fba_batch_loss))
    return fit(task, train, out, world, options)
