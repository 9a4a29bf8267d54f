"""A checkpoint file -> its network's entry in :mod:`training.networks` and its predictor."""

from __future__ import annotations

from pathlib import Path

from training.checkpoint import CheckpointError, load_checkpoint
from training.inference.common import DEFAULT_MAX_PIXELS, DEFAULT_TTA_SCALES, PredictOptions
from training.networks import NETWORKS, Network


def load_network(path: str | Path, options: PredictOptions = PredictOptions()) -> tuple[Network, object]:
    """(the network a checkpoint holds, its predictor with the test-time procedure); a checkpoint
    of a network the table does not list, or a file that is no checkpoint, is a CheckpointError."""
    state = load_checkpoint(path)
    if state["network"] not in NETWORKS:
        raise CheckpointError(f"checkpoint {path}: holds a {state['network']!r} network; load_predictor serves "
                              + ", ".join(f"'{name}'" for name in NETWORKS) + " checkpoints")
    network = NETWORKS[state["network"]]
    return network, network.parts().load_predictor(path, state, options)


def load_predictor(path: str | Path, *, device: str = "auto", tta: bool = False,
                   tta_scales: tuple[float, ...] = DEFAULT_TTA_SCALES, max_pixels: int = DEFAULT_MAX_PIXELS):
    """The model in checkpoint ``path`` with its test-time procedure (an
    :class:`~training.inference.fba.FBAPredictor`, :class:`~training.inference.imatting.ImattingPredictor`
    or :class:`~training.inference.iseg.IsegPredictor`, as the table says)."""
    return load_network(path, PredictOptions(device, tta, tuple(tta_scales), max_pixels))[1]
