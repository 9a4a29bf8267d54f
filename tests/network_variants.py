"""The networks the export and inference-rewrite tests check: the three tiny configs and the two
published variants at tiny width, with GroupNorm's affine parameters drawn away from 1 / 0, so
that a fold or rewrite that mishandles them shows in the outputs."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from training.networks import NETWORKS

TINY_PUBLISHED = {"width": 8, "blocks": (1, 1, 1, 1), "ppm_channels": 16, "decoder_channels": (32, 32, 32, 16, 16, 8)}
VARIANTS = {  # name: (network, config, extra model fields for the tiny published variants)
    "fba": ("fba", "tiny", {}),
    "imatting": ("imatting", "tiny", {}),
    "iseg": ("iseg", "tiny", {}),
    "fba-published": ("fba", "published", TINY_PUBLISHED),
    "iseg-published": ("iseg", "published", {**TINY_PUBLISHED, "interaction_channels": (8, 8, 16, 16, 16, 16),
                                             "guide_channels": 8}),
}


def variant_network(variant: str) -> tuple[str, dict[str, Any], torch.nn.Module]:
    """(network name, run config, the seeded network) of ``variant``."""
    network, config, fields = VARIANTS[variant]
    parts = NETWORKS[network].parts()
    cfg = parts.load_config(config, ())
    if fields:
        cfg["model"] = dataclasses.replace(cfg["model"], **fields)
    torch.manual_seed(sum(map(ord, variant)))
    net = parts.model(cfg["model"])
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.GroupNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    return network, cfg, net
