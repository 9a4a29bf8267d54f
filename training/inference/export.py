"""A checkpoint as a deployable file: ``training export --model CKPT --out FILE.onnx|FILE.torchscript``.

What is exported is the network's ``forward`` alone, as the network table
(:mod:`training.networks`) states it: its ``exported_inputs`` by name and channel count, its
``exported_outputs`` as separate named tensors (FBA: alpha, fg, bg), every size dynamic. The
test-time steps around it (mirror padding to a multiple of 8, TTA, fusion, click maps, clicks
forced to their label) stay in the predictors, which take an exported file in place of the torch
network (:func:`training.inference.load.load_network`), so both run the same code around it.

Before export the network is made an inference copy: weight standardisation folded into plain
convolutions (:func:`training.models.gnws.fold_weight_standardisation`, bit-identical outputs).
The pyramid pooling (:mod:`training.models.pooling`) and the guided filter (cumulative sums,
float64) are written so that the traced graph stays exact at any height and width; the parity
tests check it at sizes that are not multiples of 48.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from training.checkpoint import CheckpointError, load_checkpoint, restore_network
from training.export.files import TensorSpec, export_format, write_exported
from training.models.fba import OUTPUT_STRIDE
from training.models.gnws import fold_weight_standardisation
from training.networks import NETWORKS

EXAMPLE_SIZE = (64, 96)
"""Height and width of the tracing inputs: multiples of 8, unequal, so no size is taken for another."""


class NamedOutputs(nn.Module):
    """``net``'s one BxCxHxW output as the table's named outputs (channel slices, in order):
    an exported file then names alpha, F and B instead of holding an unlabelled 7-channel
    tensor. The runtime adapters concatenate them back (:mod:`training.export.runtime`)."""

    def __init__(self, net: nn.Module, channels: tuple[int, ...]) -> None:
        super().__init__()
        self.net = net
        self.channels = channels

    def forward(self, *inputs: Tensor) -> tuple[Tensor, ...]:
        return tuple(torch.split(self.net(*inputs), list(self.channels), dim=1))


@dataclass(frozen=True)
class ExportResult:
    path: Path
    network: str
    described: str

    def __str__(self) -> str:
        return f"exported {self.described} to {self.path} ({export_format(self.path)})"


def export_checkpoint(model: str | Path, out: str | Path) -> ExportResult:
    """Write the network of checkpoint ``model`` to ``out`` (the format from its extension).

    A file that is not a training checkpoint (an exported file, a bare state dict), a network
    the table does not list, or an unknown extension is one line (ExportError or
    CheckpointError, both ValueErrors)."""
    export_format(out)
    state = load_checkpoint(model)
    network = NETWORKS.get(state["network"])
    if network is None:
        raise CheckpointError(f"checkpoint {model}: holds a {state['network']!r} network; export serves "
                              + ", ".join(f"'{name}'" for name in NETWORKS) + " checkpoints")
    parts = network.parts()
    net = fold_weight_standardisation(restore_network(model, state, parts.model, parts.config)).eval()
    generator = torch.Generator().manual_seed(0)
    example = {name: torch.rand(1, channels, *EXAMPLE_SIZE, generator=generator)
               for name, channels in network.exported_inputs}
    outputs = [TensorSpec(name, channels) for name, channels in network.exported_outputs]
    wrapped = NamedOutputs(net, tuple(spec.channels for spec in outputs))
    path = write_exported(wrapped, example, outputs, out, metadata(model, state))
    return ExportResult(path, network.name, network.described)


def metadata(model: str | Path, state: dict[str, Any]) -> dict[str, Any]:
    """What a predictor needs from the checkpoint (network, model config, run config: encodings,
    sigmas, click side, fusion, click radius) and where the file came from."""
    return {"network": state["network"], "model_config": state["model_config"], "config": state.get("config", {}),
            "size_multiple": OUTPUT_STRIDE,
            "source": {"checkpoint": Path(model).name, "imported_from": state.get("imported_from")}}
